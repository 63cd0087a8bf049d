package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpCommand;

/** Run control and odds and ends: {@code stop}, {@code cont}, {@code quit}, {@code pmemsave}, HMP. */
public final class MachineCommands {
    private MachineCommands() {
    }

    /** {@code stop}: pauses the guest (emits {@code STOP}). */
    public record Stop() implements VoidCommand {
        @Override
        public String name() {
            return "stop";
        }
    }

    /** {@code cont}: resumes the guest (emits {@code RESUME}). */
    public record Cont() implements VoidCommand {
        @Override
        public String name() {
            return "cont";
        }
    }

    /** {@code quit}: QEMU exits (the connection then closes). */
    public record Quit() implements VoidCommand {
        @Override
        public String name() {
            return "quit";
        }
    }

    /**
     * {@code pmemsave}: writes guest-physical memory to a file (QEMU opens the file itself).
     *
     * @param val start address
     * @param size bytes
     * @param filename the file QEMU writes
     */
    public record Pmemsave(long val, long size, String filename) implements VoidCommand {
        /** Requires a filename. */
        public Pmemsave {
            Objects.requireNonNull(filename, "filename");
        }

        @Override
        public String name() {
            return "pmemsave";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeNumberField("val", val);
            g.writeNumberField("size", size);
            g.writeStringField("filename", filename);
        }
    }

    /**
     * {@code human-monitor-command}: runs an HMP command and returns its text output (for debugging only;
     * HMP output is not a stable interface).
     *
     * @param commandLine e.g. {@code "info block"}
     */
    public record HumanMonitorCommand(String commandLine) implements QmpCommand<String> {
        /** Requires a command line. */
        public HumanMonitorCommand {
            Objects.requireNonNull(commandLine, "commandLine");
        }

        @Override
        public String name() {
            return "human-monitor-command";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("command-line", commandLine);
        }

        @Override
        public String decode(Json r) {
            return r.asString();
        }
    }
}
