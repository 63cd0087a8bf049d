package org.vmbackup.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A real program an integration test drives, and the Debian package that provides it.
 *
 * <p>Integration tests call {@link #path()} instead of assuming the tool exists, so a machine without it
 * fails with a message naming the package to install rather than an obscure {@code IOException}. Tests are
 * never skipped for a missing tool: CI installs them all.
 */
public enum RequiredTool {
    QEMU_SYSTEM_X86_64("qemu-system-x86_64", "qemu-system-x86", true),
    QEMU_STORAGE_DAEMON("qemu-storage-daemon", "qemu-system-common", true),
    QEMU_IMG("qemu-img", "qemu-utils", true),
    QEMU_IO("qemu-io", "qemu-utils", true),
    QEMU_NBD("qemu-nbd", "qemu-utils", true),
    NBDINFO("nbdinfo", "libnbd-bin", false),
    NBDCOPY("nbdcopy", "libnbd-bin", false),
    NBDSH("nbdsh", "libnbd-bin", false),
    NBDKIT("nbdkit", "nbdkit", false);

    private final String command;
    private final String debianPackage;
    private final boolean partOfQemu;

    RequiredTool(String command, String debianPackage, boolean partOfQemu) {
        this.command = command;
        this.debianPackage = debianPackage;
        this.partOfQemu = partOfQemu;
    }

    /** The program's name as found on {@code PATH}. */
    public String command() {
        return command;
    }

    /** The Debian package that installs the program. */
    public String debianPackage() {
        return debianPackage;
    }

    /**
     * Where the program is: a QEMU program under {@link QemuInstall#current()}'s prefix when one is set,
     * otherwise on {@code PATH}, if it is there.
     */
    public Optional<Path> find() {
        if (partOfQemu) {
            Optional<Path> fromPrefix = QemuInstall.current().program(command);
            if (fromPrefix.isPresent()) {
                return fromPrefix;
            }
        }
        String pathVar = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : pathVar.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, command);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Where the program is on {@code PATH}.
     *
     * @throws IllegalStateException naming the Debian package when the program is missing
     */
    public Path path() {
        return find().orElseThrow(() -> new IllegalStateException(command + " is not installed (not on PATH): "
                + "this integration test needs the real tool; install the Debian package '" + debianPackage
                + "' (apt-get install " + debianPackage + ")"));
    }
}
