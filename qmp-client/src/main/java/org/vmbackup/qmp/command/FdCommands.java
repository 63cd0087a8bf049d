package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.QmpCommand;

/**
 * File-descriptor commands. {@link Getfd} and {@link AddFd} consume a descriptor passed with SCM_RIGHTS, so
 * send them with {@code QmpClient.getfd(...)} / {@code QmpClient.addFd(...)}, which attach the descriptor;
 * executing them directly fails with "No file descriptor supplied via SCM_RIGHTS".
 */
public final class FdCommands {
    private FdCommands() {
    }

    /**
     * {@code getfd}: names the descriptor that came with this command.
     *
     * @param fdname the name (must not start with a digit)
     */
    public record Getfd(String fdname) implements VoidCommand {
        /** Requires a name. */
        public Getfd {
            Objects.requireNonNull(fdname, "fdname");
            if (fdname.isEmpty() || Character.isDigit(fdname.charAt(0))) {
                throw new IllegalArgumentException("fd names must not be empty or start with a digit: " + fdname);
            }
        }

        @Override
        public String name() {
            return "getfd";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("fdname", fdname);
        }
    }

    /**
     * {@code closefd}: closes a named descriptor.
     *
     * @param fdname the name
     */
    public record Closefd(String fdname) implements VoidCommand {
        /** Requires a name. */
        public Closefd {
            Objects.requireNonNull(fdname, "fdname");
        }

        @Override
        public String name() {
            return "closefd";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("fdname", fdname);
        }
    }

    /**
     * {@code add-fd}: puts the descriptor that came with this command into an fd set.
     *
     * @param fdsetId the set, or null for a new one
     * @param opaque a note, or null
     */
    public record AddFd(Long fdsetId, String opaque) implements QmpCommand<AddfdInfo> {
        @Override
        public String name() {
            return "add-fd";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.num(g, "fdset-id", fdsetId);
            Args.str(g, "opaque", opaque);
        }

        @Override
        public AddfdInfo decode(Json r) {
            return new AddfdInfo(r.require("fdset-id").asLong(), r.require("fd").asLong());
        }
    }

    /**
     * The result of {@code add-fd}.
     *
     * @param fdsetId the fd set (open files as {@code /dev/fdset/ID})
     * @param fd QEMU's descriptor number
     */
    public record AddfdInfo(long fdsetId, long fd) {
    }

    /**
     * {@code remove-fd}: removes one descriptor or a whole set.
     *
     * @param fdsetId the set
     * @param fd QEMU's descriptor number, or null for the whole set
     */
    public record RemoveFd(long fdsetId, Long fd) implements VoidCommand {
        @Override
        public String name() {
            return "remove-fd";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeNumberField("fdset-id", fdsetId);
            Args.num(g, "fd", fd);
        }
    }

    /** {@code query-fdsets}: the fd sets, raw. */
    public record QueryFdsets() implements QmpCommand<Json> {
        @Override
        public String name() {
            return "query-fdsets";
        }

        @Override
        public Json decode(Json r) {
            return r;
        }
    }
}
