package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.vmbackup.testkit.Accel;
import org.vmbackup.testkit.QemuProcess;

/**
 * A {@link QemuProcess} running the {@link TinyGuest}: its kernel and initramfs, a raw data disk on virtio-blk
 * (block node {@value #DATA_NODE}), the guest agent's virtio-serial port on a unix socket, and the serial console
 * in a file. The QEMU comes from {@link org.vmbackup.testkit.QemuInstall} like every test VM
 * ({@code VMBACKUP_QEMU_PREFIX}); it runs under TCG unless told otherwise (see {@link Builder#accel}).
 *
 * <pre>{@code
 * try (GuestVm vm = GuestVm.builder(TinyGuest.build()).start()) {
 *     vm.console().awaitTick(1, Duration.ofMinutes(3));   // booted, workload running
 *     Path qga = vm.qgaSocket();
 * }
 * }</pre>
 */
public final class GuestVm implements AutoCloseable {
    /** The block node name of the data disk (a raw format node). */
    public static final String DATA_NODE = "data0";
    /** The qdev id of the data disk's virtio-blk device. */
    public static final String DATA_DEVICE = "vda";
    /** The chardev id of the guest agent's socket. */
    public static final String QGA_CHARDEV = "qga0";
    /** The virtio-serial port name qemu-ga opens in the guest. */
    public static final String QGA_PORT = "org.qemu.guest_agent.0";
    /**
     * The kernel command line. quiet: every console byte costs time under TCG; panic=-1 with -no-reboot ends QEMU
     * on a panic; no_timer_check: on a loaded host a TCG vCPU may not see the timer interrupt within the kernel's
     * early IO-APIC check, which then panics ("IO-APIC + timer doesn't work!", seen at load 15-20 on 2 cores).
     */
    public static final String KERNEL_ARGS = "console=ttyS0 quiet panic=-1 no_timer_check";

    private final QemuProcess qemu;
    private final Path dataDisk;
    private final GuestConsole console;

    private GuestVm(QemuProcess qemu, Path dataDisk) {
        this.qemu = qemu;
        this.dataDisk = dataDisk;
        this.console = new GuestConsole(qemu.dir().resolve("console.log"), qemu::isAlive, qemu::output);
    }

    /** A builder booting {@code guest}. */
    public static Builder builder(TinyGuest guest) {
        return new Builder(guest);
    }

    /**
     * The QEMU arguments that attach the guest (kernel, initrd, console file, data disk, agent socket), for a
     * test that builds its own QEMU (e.g. a restore target with {@code -incoming defer}). Paths may use
     * {@link QemuProcess}'s {@code {dir}} token.
     *
     * @param kernel {@link TinyGuest#vmlinux()} or {@link TinyGuest#bzImage()}
     */
    public static List<String> qemuArgs(TinyGuest guest, Path kernel, String dataDisk, String consoleFile,
            String qgaSocket) {
        return List.of("-no-reboot",
                "-kernel", kernel.toString(), "-initrd", guest.initrd().toString(),
                "-append", KERNEL_ARGS,
                "-chardev", "file,id=con0,path=" + consoleFile, "-device", "isa-serial,chardev=con0",
                "-blockdev", "driver=file,filename=" + dataDisk + ",node-name=" + DATA_NODE + "-file",
                "-blockdev", "driver=raw,file=" + DATA_NODE + "-file,node-name=" + DATA_NODE,
                "-device", "virtio-blk-pci,drive=" + DATA_NODE + ",id=" + DATA_DEVICE,
                "-chardev", "socket,path=" + qgaSocket + ",server=on,wait=off,id=" + QGA_CHARDEV,
                "-device", "virtio-serial-pci,id=vser0",
                "-device", "virtserialport,chardev=" + QGA_CHARDEV + ",name=" + QGA_PORT);
    }

    /** The QEMU process (QMP socket, private directory, output). */
    public QemuProcess qemu() {
        return qemu;
    }

    /** The host end of the guest agent's channel. */
    public Path qgaSocket() {
        return qemu.dir().resolve("qga.sock");
    }

    /** The raw data disk image. */
    public Path dataDisk() {
        return dataDisk;
    }

    /** The serial console. */
    public GuestConsole console() {
        return console;
    }

    /** Kills QEMU and deletes its directory (with a data disk created there). */
    @Override
    public void close() {
        qemu.close();
    }

    /** How to boot one guest. Not thread-safe. */
    public static final class Builder {
        private final TinyGuest guest;
        private final List<String> extraArgs = new ArrayList<>();
        private int memoryMiB = 256;
        private long dataDiskBytes = 64L << 20;
        private Path dataDisk;
        private boolean bzImage;
        private Accel accel = defaultAccel();

        private Builder(TinyGuest guest) {
            this.guest = Objects.requireNonNull(guest);
        }

        /** Guest RAM (default 256 MiB; the guest itself uses about 21 MB). */
        public Builder memoryMiB(int memoryMiB) {
            this.memoryMiB = memoryMiB;
            return this;
        }

        /** Size of the blank data disk created in the VM's directory (default 64 MiB); the guest formats it. */
        public Builder dataDiskBytes(long bytes) {
            this.dataDiskBytes = bytes;
            return this;
        }

        /** Uses an existing raw data disk (an ext4 image, or blank to be formatted) instead of a new one. */
        public Builder dataDisk(Path image) {
            this.dataDisk = image;
            return this;
        }

        /** Boots Debian's bzImage instead of the extracted vmlinux (slower; the way most users boot). */
        public Builder bzImage(boolean bzImage) {
            this.bzImage = bzImage;
            return this;
        }

        /**
         * The accelerator. Default: TCG, unless {@code VMBACKUP_ACCEL} names one. Not KVM whenever
         * {@code /dev/kvm} opens (as {@link Accel#detect()} does): a nested KVM that idles SeaBIOS fine may still
         * fail a real kernel (seen: a hang in early boot with the default CPU model, an MSR assertion with
         * {@code -cpu host}), and TCG is what CI has.
         */
        public Builder accel(Accel accel) {
            this.accel = Objects.requireNonNull(accel);
            return this;
        }

        private static Accel defaultAccel() {
            String chosen = System.getenv("VMBACKUP_ACCEL");
            return chosen == null || chosen.isBlank() ? Accel.TCG : Accel.detect();
        }

        /** More QEMU arguments ({@code {dir}} is the private directory). */
        public Builder args(String... args) {
            extraArgs.addAll(List.of(args));
            return this;
        }

        /** Starts QEMU; returns once its QMP socket accepts connections (the guest is still booting). */
        public GuestVm start() throws IOException {
            for (Path p : List.of(guest.vmlinux(), guest.initrd())) {
                if (!Files.isRegularFile(p)) {
                    throw new IllegalStateException("the tiny guest in " + guest.dir() + " lacks " + p.getFileName()
                            + ": delete the directory and build it again (TinyGuest.build())");
                }
            }
            String disk = dataDisk != null ? dataDisk.toAbsolutePath().toString() : "{dir}/data.raw";
            List<String> args = new ArrayList<>(qemuArgs(guest, bzImage ? guest.bzImage() : guest.vmlinux(), disk,
                    "{dir}/console.log", "{dir}/qga.sock"));
            args.addAll(extraArgs);
            QemuProcess qemu = QemuProcess.system().accel(accel).memoryMiB(memoryMiB).args(args.toArray(String[]::new))
                    .startTimeout(Duration.ofSeconds(60))
                    .start(dir -> {
                        if (dataDisk == null) {
                            try (RandomAccessFile f = new RandomAccessFile(dir.resolve("data.raw").toFile(), "rw")) {
                                f.setLength(dataDiskBytes);
                            }
                        }
                    });
            return new GuestVm(qemu, dataDisk != null ? dataDisk : qemu.dir().resolve("data.raw"));
        }
    }
}
