package org.vmbackup.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Which QEMU the integration tests drive: the system's (on {@code PATH}), or one unpacked into a private prefix
 * named by the environment variable {@code VMBACKUP_QEMU_PREFIX} (or the system property
 * {@code vmbackup.qemu.prefix}), e.g. QEMU 10.0 from Debian's backports unpacked by {@code .ci/qemu-backports}
 * next to the system's 7.2.
 *
 * <p>With a prefix, every QEMU program ({@code qemu-system-x86_64}, {@code qemu-img}, {@code qemu-io},
 * {@code qemu-nbd}, {@code qemu-storage-daemon}) comes from {@code PREFIX/usr/bin}, and the system emulator gets
 * its firmware from {@code PREFIX/usr/share/qemu} (SeaBIOS itself from the system's {@code /usr/share/seabios},
 * which the backports package does not carry).
 */
public final class QemuInstall {
    /** The environment variable naming the prefix. */
    public static final String PREFIX_VARIABLE = "VMBACKUP_QEMU_PREFIX";
    private static final String PREFIX_PROPERTY = "vmbackup.qemu.prefix";

    private final Path prefix;

    private QemuInstall(Path prefix) {
        this.prefix = prefix;
    }

    /** The QEMU this JVM's tests use. */
    public static QemuInstall current() {
        String p = System.getProperty(PREFIX_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(PREFIX_VARIABLE);
        }
        if (p == null || p.isBlank()) {
            return new QemuInstall(null);
        }
        Path prefix = Path.of(p).toAbsolutePath().normalize();
        if (!Files.isDirectory(prefix.resolve("usr/bin"))) {
            throw new IllegalStateException(PREFIX_VARIABLE + "=" + p + " has no usr/bin directory: point it at a "
                    + "QEMU unpacked with dpkg -x (for example by .ci/qemu-backports)");
        }
        return new QemuInstall(prefix);
    }

    /** The private prefix, or empty for the system's QEMU. */
    public Optional<Path> prefix() {
        return Optional.ofNullable(prefix);
    }

    /** Where a QEMU program lives under the prefix; empty for the system's QEMU (look on {@code PATH}). */
    Optional<Path> program(String command) {
        if (prefix == null) {
            return Optional.empty();
        }
        Path exe = prefix.resolve("usr/bin").resolve(command);
        if (!Files.isRegularFile(exe) || !Files.isExecutable(exe)) {
            throw new IllegalStateException(command + " is not in " + PREFIX_VARIABLE + "=" + prefix
                    + " (expected " + exe + ")");
        }
        return Optional.of(exe);
    }

    /** The {@code -L} options a system emulator from the prefix needs to find its firmware; none for the system's. */
    public List<String> firmwareArgs() {
        if (prefix == null) {
            return List.of();
        }
        return List.of("-L", prefix.resolve("usr/share/qemu").toString(), "-L", "/usr/share/seabios");
    }

    /** The {@code PATH} value that puts the prefix's programs first, for child processes that look them up. */
    public String path() {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        return prefix == null ? path : prefix.resolve("usr/bin") + ":" + path;
    }

    @Override
    public String toString() {
        return prefix == null ? "system QEMU" : "QEMU in " + prefix;
    }
}
