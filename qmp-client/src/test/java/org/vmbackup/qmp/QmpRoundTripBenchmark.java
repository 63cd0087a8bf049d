package org.vmbackup.qmp;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * Commands per second against a real QEMU: the blocking line-based {@link RawQmp} (the peer), this client
 * one command at a time, and this client with all commands in flight. Not a test; run by hand (see
 * BENCHMARKS.md). Prints one line per variant and the ratios. {@code -Ddirect=1} completes futures on the
 * network thread instead of the callback pool, {@code -Dnio=1} uses the NIO transport.
 */
public final class QmpRoundTripBenchmark {
    private QmpRoundTripBenchmark() {
    }

    /** Runs the benchmark: {@code [commands per variant]}. */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        try (QemuProcess vm = QemuProcess.system().start()) {
            double raw;
            try (RawQmp qmp = RawQmp.connect(vm.qmpSocket())) {
                for (int i = 0; i < 500; i++) {
                    qmp.execute("{\"execute\":\"query-status\"}");
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    qmp.execute("{\"execute\":\"query-status\"}");
                }
                raw = n / ((System.nanoTime() - t0) / 1e9);
            }
            double sequential;
            double pipelined;
            QmpClientOptions.Builder ob = QmpClientOptions.builder();
            if (System.getProperty("direct") != null) {
                ob.callbackExecutor(Runnable::run);
            }
            if (System.getProperty("nio") != null) {
                ob.transport(QmpTransport.NIO);
            }
            try (QmpClient qmp = QmpClient.connect(vm.qmpSocket(), ob.build()).get()) {
                var cmd = new QueryCommands.QueryStatus();
                for (int i = 0; i < 500; i++) {
                    qmp.execute(cmd).get();
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    qmp.execute(cmd).get();
                }
                sequential = n / ((System.nanoTime() - t0) / 1e9);
                t0 = System.nanoTime();
                List<CompletableFuture<QueryCommands.StatusInfo>> all = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    all.add(qmp.execute(cmd));
                }
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get();
                pipelined = n / ((System.nanoTime() - t0) / 1e9);
            }
            System.out.printf("query-status x%d: RawQmp sequential %.0f/s, QmpClient sequential %.0f/s (%.2fx), "
                    + "QmpClient pipelined %.0f/s (%.2fx)%n", n, raw, sequential, sequential / raw, pipelined,
                    pipelined / raw);
        }
    }
}
