package org.vmbackup.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.vmbackup.nbd.NbdEventLoop;
import org.vmbackup.nbd.NbdExport;
import org.vmbackup.nbd.NbdServer;
import org.vmbackup.nbd.NbdTls;
import org.vmbackup.core.ArchiveExportServer;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vmabackup nbd serve}: serves one export until the process is killed (or interrupted). */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Serve one export over NBD until killed.")
final class NbdServeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Export data (exactly one):%n")
    NbdBackendSource source;

    @Option(names = "--read-only", description = "Refuse writes (EPERM).")
    boolean readOnly;

    @Option(names = "--preallocate", description = "With --memory: allocate and touch all of it before serving "
            + "(like nbdkit memory allocator=malloc), so serving never allocates; needs -XX:MaxDirectMemorySize "
            + "(JAVA_OPTS) of at least SIZE.")
    boolean preallocate;

    @Option(names = "--warm-up", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Before listening, run a few thousand requests through a private export so the JIT has "
                    + "compiled the request path for the first client (about 0.5 s of start-up; default: on).")
    boolean warmUp;

    @Option(names = "--snapshot", paramLabel = "ID", description = "With --store: the snapshot to serve (VM/INSTANT).")
    String snapshot;

    @Option(names = "--key", paramLabel = "FILE", description = "With --store: the key of an encrypted store.")
    Path key;

    @Option(names = "--name", paramLabel = "EXPORT", defaultValue = "",
            description = "Export name (default: empty, the default export).")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "Where to listen (exactly one):%n")
    Listen listen;

    @Option(names = "--bind", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "TCP address to bind with --port (default: ${DEFAULT-VALUE}).")
    String bind;

    @ArgGroup(exclusive = false, heading = "TLS (the export then requires STARTTLS):%n")
    Tls tls;

    /** Unix socket or TCP port. */
    static final class Listen {
        @Option(names = "--socket", paramLabel = "PATH",
                description = "Unix socket to create (mode 0600; the directory must exist).")
        Path socket;

        @Option(names = "--port", paramLabel = "N", description = "TCP port (0: any free port).")
        Integer port;
    }

    /** X.509 credentials. */
    static final class Tls {
        @Option(names = "--tls-cert", paramLabel = "FILE", required = true, description = "Server certificate (PEM).")
        Path cert;

        @Option(names = "--tls-key", paramLabel = "FILE", required = true,
                description = "Server private key (PEM, PKCS#8).")
        Path key;

        @Option(names = "--tls-ca", paramLabel = "FILE",
                description = "CA that signs client certificates; clients must then present one.")
        Path ca;
    }

    /** Binding the socket, after the warm-up (which has a bound of its own). */
    private static final long START_SECONDS = 30;
    /** Closing the server: its connections and the event loop (a shutdown hook must not keep the JVM alive). */
    private static final long CLOSE_SECONDS = 30;

    private final CompletableFuture<Void> stop = new CompletableFuture<>();

    @Override
    public Integer call() throws Exception {
        if (listen.socket != null && !"127.0.0.1".equals(bind)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--bind only applies with --port");
        }
        NbdServeChecks.check(spec, source, listen.socket, listen.port, tls == null ? null : tls.cert,
                tls == null ? null : tls.key, tls == null ? null : tls.ca);
        if ((snapshot != null || key != null) && source.store == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), (snapshot != null ? "--snapshot" : "--key")
                    + " only applies with --store");
        }
        InetSocketAddress tcp = listen.socket != null ? null
                : new InetSocketAddress(InetAddress.getByName(bind), listen.port);
        if (source.archive != null) { // restore area: NbdServeArchiveSupport
            return RestoreFailures.leavingNothing(null, source.archive.toString(), () -> NbdServeArchiveSupport.serve(
                    spec.commandLine().getErr(), ArchiveExportServer.builder(source.archive),
                    source.archive.getFileName().toString(), listen.socket, tcp, warmUp));
        }
        if (source.store != null) {
            if (snapshot == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--store needs --snapshot ID");
            }
            SnapshotId id = new StoreCommand.SnapshotIdConverter().convert(snapshot, spec.commandLine());
            try (ChunkStore s = StoreLocation.open(source.store, key)) {
                return NbdServeArchiveSupport.serve(spec.commandLine().getErr(),
                        ArchiveExportServer.builder(ArchiveSource.snapshot(s, id)), "snapshot " + id, listen.socket,
                        tcp, warmUp);
            }
        }
        if (preallocate && source.memory == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--preallocate only applies with --memory");
        }
        // The warm-up runs on the server's I/O threads while the backend is opened (a preallocated memory export
        // zero-fills all of itself on this thread): the two overlap instead of adding up.
        try (NbdEventLoop loop = NbdEventLoop.create()) {
            CompletableFuture<Void> warm = warmUp ? NbdServer.warmUp(loop) : CompletableFuture.completedFuture(null);
            return serve(loop, warm);
        }
    }

    private int serve(NbdEventLoop loop, CompletableFuture<Void> warm) throws Exception {
        NbdBackendSource.Opened opened;
        try {
            opened = source.open(readOnly, preallocate);
        } catch (IOException e) {
            if (!preallocate || warm.isDone()) {
                throw e;
            }
            // Out of direct memory, maybe only for the warm-up's own export (16 MiB): open again after it. The wait
            // is bounded: a warm-up that cannot finish is abandoned by then (and the second open fails as the
            // first did, with the same message).
            try {
                warm.get(NbdServer.WARM_UP_MAX_WAIT.toSeconds() + 1, TimeUnit.SECONDS);
            } catch (TimeoutException stillRunning) {
                throw e;
            }
            opened = source.open(readOnly, preallocate);
        }
        try (AutoCloseable resource = opened.resource()) {
            NbdExport export = NbdExport.of(name, opened.backend());
            NbdServer.Builder b = NbdServer.builder().eventLoop(loop).warmUp(warmUp);
            if (listen.socket != null) {
                b.unixSocket(listen.socket);
            } else {
                b.tcp(new InetSocketAddress(InetAddress.getByName(bind), listen.port));
            }
            if (tls != null) {
                b.tls(NbdTls.fromPem(tls.cert, tls.key, tls.ca));
                export = export.requiringTls();
            }
            NbdServer server = b.export(export).build().start()
                    .get(NbdServer.WARM_UP_MAX_WAIT.toSeconds() + START_SECONDS, TimeUnit.SECONDS);
            Thread hook = new Thread(() -> closeQuietly(server), "nbd-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            spec.commandLine().getErr().printf("serving export '%s' (%d bytes%s) on %s%n", name,
                    opened.backend().size(), readOnly ? ", read-only" : "", server.localAddress());
            spec.commandLine().getErr().flush();
            try {
                stop.get();
                return ExitCode.OK;
            } finally {
                server.close().get(CLOSE_SECONDS, TimeUnit.SECONDS);
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // The hook is already running.
                }
            }
        }
    }

    /** The shutdown hook's close: bounded, since the JVM exits only when every hook has returned. */
    private static void closeQuietly(NbdServer server) {
        try {
            server.close().get(CLOSE_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            // The JVM is exiting: the process's end closes what is left.
        }
    }
}
