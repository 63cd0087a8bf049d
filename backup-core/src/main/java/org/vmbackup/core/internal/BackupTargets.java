package org.vmbackup.core.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.BackupException;
import org.vmbackup.nbd.NbdBackend;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.qmp.command.BlockCommands.BlockdevAdd;
import org.vmbackup.qmp.command.BlockCommands.BlockdevDel;
import org.vmbackup.qmp.command.BlockdevOptions;
import org.vmbackup.qmp.command.SocketAddress;

/**
 * The step that gives QEMU somewhere to write: a private directory, the archive writer threads, our NBD server
 * with one export per disk, and one {@code nbd} block node per export in QEMU. Each part pushes its undo right
 * after it exists.
 */
final class BackupTargets {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * How the targets are built.
     *
     * @param tag the run's tag, in every name this run creates in QEMU and on the host
     * @param eventLoop the NBD event loop to share, or null for a private one
     * @param sinkThreads threads running the blocking archive writes
     * @param serverListener told about the NBD server once it listens
     */
    record Options(String tag, NbdEventLoop eventLoop, int sinkThreads, Consumer<NbdServer> serverListener) {
    }

    private final PrivateDir dir;
    private final List<String> nodes;

    private BackupTargets(PrivateDir dir, List<String> nodes) {
        this.dir = dir;
        this.nodes = nodes;
    }

    /**
     * Opens the targets of {@code layout}'s disks writing into {@code sink}.
     *
     * @param backend makes disk {@code i}'s NBD backend given the archive writer threads
     */
    static BackupTargets open(QemuCalls q, Cleanup cleanup, Options o, ArchiveLayout layout,
            BackendFactory backend) throws IOException {
        PrivateDir dir = PrivateDir.create("vmbackup-" + o.tag() + "-");
        cleanup.push("delete private directory", dir::close);
        ExecutorService sinkExec = sinkExecutor(o);
        cleanup.push("stop archive writer threads", sinkExec::shutdownNow);

        Path nbdSocket = dir.resolve("nbd.sock");
        // 32 MiB in flight per connection: QEMU's backup job keeps up to 64 requests of up to 1 MiB in the air
        NbdServer.Builder nb = NbdServer.builder().unixSocket(nbdSocket).maxPendingBytes(32L << 20);
        if (o.eventLoop() != null) {
            nb.eventLoop(o.eventLoop());
        }
        for (int i = 0; i < layout.disks().size(); i++) {
            ArchiveDisk d = layout.disk(i);
            nb.export(NbdExport.of(d.name(), backend.create(i, d, sinkExec)));
        }
        NbdServer server = nb.build();
        cleanup.push("close NBD server", () -> server.close().get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        try {
            server.start().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new BackupException("starting the NBD server on " + nbdSocket + " failed: "
                    + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new BackupException("the NBD server on " + nbdSocket + " did not start within 30 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException("interrupted while starting the NBD server", e);
        }
        o.serverListener().accept(server);

        List<String> nodes = new ArrayList<>();
        for (int i = 0; i < layout.disks().size(); i++) {
            String node = "vmbk-" + o.tag() + "-t" + i;
            // before the add: one that times out may still be carried out by QEMU (deleting a node that does
            // not exist only logs a warning)
            cleanup.push("blockdev-del " + node, () -> q.tryRun(new BlockdevDel(node), CLOSE_TIMEOUT));
            q.call(new BlockdevAdd(new BlockdevOptions.Nbd(node, SocketAddress.unix(nbdSocket.toString()),
                    layout.disk(i).name())));
            nodes.add(node);
        }
        return new BackupTargets(dir, List.copyOf(nodes));
    }

    /** Makes the NBD backend of one disk. */
    @FunctionalInterface
    interface BackendFactory {
        /** The backend of disk {@code index} ({@code disk} in the layout), writing on {@code sinkExec}. */
        NbdBackend create(int index, ArchiveDisk disk, ExecutorService sinkExec);
    }

    /** The target node of disk {@code i}. */
    String node(int i) {
        return nodes.get(i);
    }

    /** The run's private directory (for the VM state socket). */
    PrivateDir dir() {
        return dir;
    }

    private static ExecutorService sinkExecutor(Options o) {
        int n = Math.max(1, o.sinkThreads());
        ThreadPoolExecutor ex = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4096),
                r -> {
                    Thread t = new Thread(r, "vmbackup-sink-" + o.tag() + "-" + THREADS.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ex.allowCoreThreadTimeOut(true);
        return ex;
    }
}
