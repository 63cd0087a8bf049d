package org.vmbackup.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway QEMU process ({@code qemu-system-x86_64} or {@code qemu-storage-daemon}) with a private temporary
 * directory and a QMP unix socket inside it.
 *
 * <p>{@link #close()} kills the process and deletes the directory; use it with try-with-resources so a failing
 * test still cleans up. A JVM shutdown hook kills whatever a crashed test run left behind.
 *
 * <pre>{@code
 * try (QemuProcess vm = QemuProcess.system().memoryMiB(256).start()) {
 *     Path qmp = vm.qmpSocket();
 * }
 * }</pre>
 */
public final class QemuProcess implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QemuProcess.class);
    private static final Set<QemuProcess> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(QemuProcess::close), "qemu-reaper"));
    }

    private final Process process;
    private final Path dir;
    private final Path qmpSocket;
    private final Path logFile;

    private QemuProcess(Process process, Path dir, Path qmpSocket, Path logFile) {
        this.process = process;
        this.dir = dir;
        this.qmpSocket = qmpSocket;
        this.logFile = logFile;
    }

    /** A builder for {@code qemu-system-x86_64} without a guest OS: SeaBIOS idles, RAM and devices work. */
    public static Builder system() {
        return new Builder(RequiredTool.QEMU_SYSTEM_X86_64);
    }

    /** A builder for {@code qemu-storage-daemon}: the block layer and QMP, no guest. */
    public static Builder storageDaemon() {
        return new Builder(RequiredTool.QEMU_STORAGE_DAEMON);
    }

    /** The QMP unix socket QEMU listens on. */
    public Path qmpSocket() {
        return qmpSocket;
    }

    /** The private directory: put disk images, sockets and patterns here; it is deleted on close. */
    public Path dir() {
        return dir;
    }

    /** The operating-system process id. */
    public long pid() {
        return process.pid();
    }

    /** Whether the QEMU process is still running. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** The underlying process, e.g. to kill it on purpose in a fault test. */
    public Process process() {
        return process;
    }

    /** What QEMU wrote to stdout and stderr so far (for failure messages). */
    public String output() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    /** Kills QEMU (SIGKILL if it does not exit on SIGTERM within a second) and deletes the directory. */
    @Override
    public void close() {
        LIVE.remove(this);
        ProcessHandle handle = process.toHandle();
        handle.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroy();
        try {
            if (!process.waitFor(1, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteRecursively(dir);
    }

    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("could not delete {}: {}", root, e.toString());
        }
    }

    /** How to start one throwaway QEMU. Not thread-safe; {@link #start()} may be called more than once. */
    public static final class Builder {
        private final RequiredTool tool;
        private final List<String> extraArgs = new ArrayList<>();
        private Accel accel = Accel.detect();
        private int memoryMiB = 128;
        private Duration startTimeout = Duration.ofSeconds(30);

        private Builder(RequiredTool tool) {
            this.tool = tool;
        }

        /** The accelerator (default: KVM if usable, else TCG). Ignored for the storage daemon. */
        public Builder accel(Accel accel) {
            this.accel = Objects.requireNonNull(accel);
            return this;
        }

        /** Guest RAM in MiB (default 128). Ignored for the storage daemon. */
        public Builder memoryMiB(int memoryMiB) {
            if (memoryMiB <= 0) {
                throw new IllegalArgumentException("memoryMiB must be positive: " + memoryMiB);
            }
            this.memoryMiB = memoryMiB;
            return this;
        }

        /**
         * Adds command-line arguments. The token {@code {dir}} in an argument is replaced by the private
         * directory, so disks and sockets can be named before it exists.
         */
        public Builder args(String... args) {
            extraArgs.addAll(List.of(args));
            return this;
        }

        /** How long to wait for the QMP socket to appear (default 30 s). */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Creates a fresh private directory, prepares it with {@code setup} and then starts QEMU. */
        public QemuProcess start(DirSetup setup) throws IOException {
            Path exe = tool.path();
            Path dir = Files.createTempDirectory("vmbackup-qemu-");
            try {
                setup.prepare(dir);
                return launch(exe, dir);
            } catch (IOException | RuntimeException e) {
                deleteRecursively(dir);
                throw e;
            }
        }

        /** Creates a fresh private directory and starts QEMU; returns once its QMP socket accepts connections. */
        public QemuProcess start() throws IOException {
            return start(dir -> { });
        }

        private QemuProcess launch(Path exe, Path dir) throws IOException {
            Path qmp = dir.resolve("qmp.sock");
            Path logFile = dir.resolve("qemu.log");
            List<String> cmd = new ArrayList<>();
            cmd.add(exe.toString());
            if (tool == RequiredTool.QEMU_STORAGE_DAEMON) {
                cmd.add("--chardev");
                cmd.add("socket,id=qmp0,path=" + qmp + ",server=on,wait=off");
                cmd.add("--monitor");
                cmd.add("chardev=qmp0");
            } else {
                cmd.addAll(List.of("-accel", accel.qemuName(), "-m", Integer.toString(memoryMiB),
                        "-nodefaults", "-display", "none", "-serial", "none",
                        "-qmp", "unix:" + qmp + ",server=on,wait=off"));
                cmd.addAll(QemuInstall.current().firmwareArgs());
            }
            for (String a : extraArgs) {
                cmd.add(a.replace("{dir}", dir.toString()));
            }
            log.debug("starting {}", cmd);
            Process p = new ProcessBuilder(cmd).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
            QemuProcess qemu = new QemuProcess(p, dir, qmp, logFile);
            LIVE.add(qemu);
            long deadline = System.nanoTime() + startTimeout.toNanos();
            // The socket file appears at bind(), a moment before QEMU listens on it: wait until a connect succeeds.
            while (!Files.exists(qmp) || !accepts(qmp)) {
                if (!p.isAlive()) {
                    String out = qemu.output();
                    qemu.close();
                    throw new IOException(tool.command() + " exited with status " + p.exitValue()
                            + " before opening its QMP socket: " + out.strip() + " (command: " + cmd + ")");
                }
                if (System.nanoTime() > deadline) {
                    String out = qemu.output();
                    qemu.close();
                    throw new IOException(tool.command() + " did not open its QMP socket within " + startTimeout
                            + ": " + out.strip());
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    qemu.close();
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while starting " + tool.command(), e);
                }
            }
            return qemu;
        }
    }

    private static boolean accepts(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Prepares the private directory before QEMU starts (create disk images, RAM patterns...). */
    @FunctionalInterface
    public interface DirSetup {
        /** Called with the fresh, empty private directory. */
        void prepare(Path dir) throws IOException;
    }

    /** Rethrows an {@link IOException} unchecked; for lambdas in tests. */
    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
