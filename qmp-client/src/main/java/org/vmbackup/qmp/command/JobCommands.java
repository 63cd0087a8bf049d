package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;

/** The generic job commands ({@code job-*}, QEMU 3.0+). */
public final class JobCommands {
    private JobCommands() {
    }

    /**
     * {@code job-cancel}: cancels a job (a backup leaves an incomplete target).
     *
     * @param id the job id
     */
    public record JobCancel(String id) implements VoidCommand {
        /** Requires an id. */
        public JobCancel {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public String name() {
            return "job-cancel";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("id", id);
        }
    }

    /**
     * {@code job-dismiss}: removes a concluded job (auto-dismiss=false) after its result was read.
     *
     * @param id the job id
     */
    public record JobDismiss(String id) implements VoidCommand {
        /** Requires an id. */
        public JobDismiss {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public String name() {
            return "job-dismiss";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("id", id);
        }
    }

    /**
     * {@code job-finalize}: finalizes a pending job (auto-finalize=false).
     *
     * @param id the job id
     */
    public record JobFinalize(String id) implements VoidCommand {
        /** Requires an id. */
        public JobFinalize {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public String name() {
            return "job-finalize";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("id", id);
        }
    }

    /**
     * {@code job-complete}: completes a ready job (mirror, commit).
     *
     * @param id the job id
     */
    public record JobComplete(String id) implements VoidCommand {
        /** Requires an id. */
        public JobComplete {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public String name() {
            return "job-complete";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("id", id);
        }
    }
}
