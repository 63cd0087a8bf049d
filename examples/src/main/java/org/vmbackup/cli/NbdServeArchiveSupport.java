package org.vmbackup.cli;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveExportServer;

/**
 * {@code vmabackup nbd serve (--archive ARCHIVE | --store STORE --snapshot ID) (--socket PATH | --port N)}
 * ({@code --vma} is {@code --archive}'s old name): every disk of a random-access archive (an uncompressed VMA file, a
 * directory archive, a chunk-store snapshot) as a read-only export named after the disk, until the process is killed or interrupted. Owned by the restore area;
 * {@link NbdServeCommand} only hands over to it.
 */
final class NbdServeArchiveSupport {
    private NbdServeArchiveSupport() {
    }

    /**
     * Serves the archive {@code builder} opens ({@code what} names it in messages) on a unix socket (if {@code socket} is set) or TCP {@code tcp} until interrupted,
     * after warming the request path up if asked.
     */
    static int serve(PrintWriter err, ArchiveExportServer.Builder builder, String what, Path socket,
            InetSocketAddress tcp, boolean warmUp) throws Exception {
        ArchiveExportServer.Builder b = builder.warmUp(warmUp);
        if (socket != null) {
            b.unixSocket(socket);
        } else {
            b.tcp(tcp);
        }
        ArchiveExportServer server = RestoreCommand.join(b.start());
        Thread hook = new Thread(() -> closeQuietly(server), "nbd-serve-archive-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (ArchiveDisk d : server.disks()) {
                err.printf("serving export '%s' (%d bytes, read-only) of %s on %s%n", d.name(), d.size(),
                        what, server.localAddress());
            }
            if (server.disks().isEmpty()) {
                err.printf("%s has no disks; serving no export on %s%n", what, server.localAddress());
            }
            err.flush();
            new CompletableFuture<Void>().get();
            return ExitCode.OK;
        } finally {
            server.close().get(30, TimeUnit.SECONDS);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running
            }
        }
    }

    /** The shutdown hook's close: bounded, since the JVM exits only when every hook has returned. */
    private static void closeQuietly(ArchiveExportServer server) {
        try {
            server.close().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // The JVM is exiting: the process's end closes what is left.
        }
    }
}
