package org.vmbackup.core;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.testkit.Accel;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.guest.GuestConsole;
import org.vmbackup.testkit.guest.GuestVm;
import org.vmbackup.testkit.guest.TinyGuest;

/**
 * A QEMU that receives a backed-up {@link GuestVm}: the same machine, kernel, initrd, devices (in the same order, so
 * the same PCI slots) and RAM, waiting with {@code -incoming defer}; only the data disk differs. The restore sessions
 * match disks by BlockBackend name, so the disk is {@code -drive id=data0} (the archive's {@code drive-data0}) where
 * the source had a {@code -blockdev} node of that name. A second QMP monitor ({@link #testQmpSocket()}) is the test's
 * own, beside the one the session uses.
 */
final class RestoredGuest implements AutoCloseable {
    /** The source's RAM ({@link GuestVm}'s default): a migration stream only loads into the same size. */
    static final int MEMORY_MIB = 256;

    private final QemuProcess qemu;
    private final GuestConsole console;

    private RestoredGuest(QemuProcess qemu) {
        this.qemu = qemu;
        this.console = new GuestConsole(qemu.dir().resolve("console.log"), qemu::isAlive, qemu::output);
    }

    /** A target on a blank raw data disk of {@code diskBytes} in its directory ({@code data.raw}). */
    static RestoredGuest onBlankRaw(TinyGuest guest, long diskBytes) throws IOException {
        return start(guest, List.of("-drive", "if=none,id=" + GuestVm.DATA_NODE + ",file={dir}/data.raw,format=raw"),
                dir -> {
                    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("data.raw").toFile(), "rw")) {
                        f.setLength(diskBytes);
                    }
                });
    }

    /** A target on the drives a live restore prepared ({@link LiveRestorePlan#driveArgs()}). */
    static RestoredGuest onDrives(TinyGuest guest, List<String> driveArgs) throws IOException {
        return start(guest, driveArgs, dir -> { });
    }

    private static RestoredGuest start(TinyGuest guest, List<String> drive, QemuProcess.DirSetup setup)
            throws IOException {
        List<String> args = new ArrayList<>(List.of("-no-reboot",
                "-kernel", guest.vmlinux().toString(), "-initrd", guest.initrd().toString(),
                "-append", GuestVm.KERNEL_ARGS,
                "-chardev", "file,id=con0,path={dir}/console.log", "-device", "isa-serial,chardev=con0"));
        args.addAll(drive);
        args.addAll(List.of("-device", "virtio-blk-pci,drive=" + GuestVm.DATA_NODE + ",id=" + GuestVm.DATA_DEVICE,
                "-chardev", "socket,path={dir}/qga.sock,server=on,wait=off,id=" + GuestVm.QGA_CHARDEV,
                "-device", "virtio-serial-pci,id=vser0",
                "-device", "virtserialport,chardev=" + GuestVm.QGA_CHARDEV + ",name=" + GuestVm.QGA_PORT,
                "-qmp", "unix:{dir}/test.sock,server=on,wait=off", "-incoming", "defer"));
        return new RestoredGuest(QemuProcess.system().accel(accel()).memoryMiB(MEMORY_MIB)
                .args(args.toArray(String[]::new)).startTimeout(Duration.ofSeconds(60)).start(setup));
    }

    /** The accelerator {@link GuestVm} boots the source on (TCG unless {@code VMBACKUP_ACCEL} names one). */
    private static Accel accel() {
        String chosen = System.getenv("VMBACKUP_ACCEL");
        return chosen == null || chosen.isBlank() ? Accel.TCG : Accel.detect();
    }

    QemuProcess qemu() {
        return qemu;
    }

    /** The console of the restored guest: a new file, so everything in it was printed after the restore. */
    GuestConsole console() {
        return console;
    }

    Path qgaSocket() {
        return qemu.dir().resolve("qga.sock");
    }

    Path testQmpSocket() {
        return qemu.dir().resolve("test.sock");
    }

    Path rawDisk() {
        return qemu.dir().resolve("data.raw");
    }

    @Override
    public void close() {
        qemu.close();
    }
}
