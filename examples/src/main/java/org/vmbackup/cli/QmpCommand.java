package org.vmbackup.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpConnectionClosedException;
import org.vmbackup.qmp.QmpErrorException;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.QmpEventSubscription;
import org.vmbackup.qmp.QmpProtocolException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup qmp}: Send a QMP command to QEMU or print its events. */
@Command(name = "qmp", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Send a QMP command to QEMU and print its return value as JSON, or print QEMU's events as "
                + "JSON lines until interrupted.",
            "  vmabackup qmp /run/vm/qmp.sock query-status",
            "  vmabackup qmp /run/vm/qmp.sock blockdev-del '{\"node-name\":\"bk\"}'",
            "  vmabackup qmp /run/vm/qmp.sock --events"},
        footer = {"On a QMP error the exit code is 1 and stderr reads \"ErrorClass: description\"."})
final class QmpCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOCKET", description = "QEMU's QMP unix socket.")
    private Path socket;

    @Parameters(index = "1", arity = "0..1", paramLabel = "COMMAND", description = "The QMP command name.")
    private String command;

    @Parameters(index = "2", arity = "0..1", paramLabel = "JSON-ARGS",
            description = "The command's arguments as a JSON object.")
    private String arguments;

    @Option(names = "--events", description = "Print events as JSON lines until interrupted.")
    private boolean events;

    @Option(names = "--count", paramLabel = "N", description = "With --events: stop after N events.")
    private long count = Long.MAX_VALUE;

    @Option(names = "--pretty", description = "Indent the printed return value.")
    private boolean pretty;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long to wait for QEMU's greeting and for the reply (default: ${DEFAULT-VALUE}).")
    private long timeoutSeconds;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "0",
            description = "Wait up to SECONDS for the socket to appear and accept connections (a QEMU still "
                    + "starting); default: ${DEFAULT-VALUE}, a missing or refusing socket fails at once.")
    private long waitSeconds;

    @Override
    public Integer call() throws Exception {
        JsonObject args = parseArguments();
        if (events == (command != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give either COMMAND or --events");
        }
        OptionChecks.range(spec, "--timeout", timeoutSeconds, 1, OptionChecks.DAY_SECONDS);
        OptionChecks.range(spec, "--wait", waitSeconds, 0, OptionChecks.DAY_SECONDS);
        OptionChecks.atLeast(spec, "--count", count, 0);
        Duration timeout = Duration.ofSeconds(timeoutSeconds);
        try (QmpClient qmp = QmpConnect.connect(socket, Duration.ofSeconds(waitSeconds), timeout)) {
            return events ? printEvents(qmp) : run(qmp, args);
        }
    }

    private JsonObject parseArguments() {
        if (arguments == null) {
            return null;
        }
        try {
            return Json.parse(arguments).asObject();
        } catch (QmpProtocolException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "JSON-ARGS must be a JSON object: " + e.getMessage());
        }
    }

    private int run(QmpClient qmp, JsonObject args) throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        try {
            Json result = qmp.execute(command, args).get();
            out.println(pretty ? result.toPrettyJson() : result.toJson());
            out.flush();
            return ExitCode.OK;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof QmpErrorException q) {
                PrintWriter err = spec.commandLine().getErr();
                err.println(q.rawErrorClass() + ": " + q.description());
                err.flush();
                return ExitCode.FAILED;
            }
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    private int printEvents(QmpClient qmp) throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        try (QmpEventSubscription sub = qmp.subscribe()) {
            for (long i = 0; i < count; i++) {
                QmpEvent e = sub.next().get();
                out.println(e.toJson());
                out.flush();
            }
            return ExitCode.OK;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof QmpConnectionClosedException) {
                // QEMU exited or closed the monitor: the event stream simply ends.
                return ExitCode.OK;
            }
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }
}
