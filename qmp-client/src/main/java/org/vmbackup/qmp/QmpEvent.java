package org.vmbackup.qmp;

import java.time.Instant;

/**
 * An asynchronous QMP event. The events a backup needs are typed records; every other event arrives as
 * {@link Raw}. No event is ever dropped, and an event whose data does not match its documented shape is
 * delivered as {@link Raw} rather than failing the connection.
 *
 * <p>{@link #timestamp()} is QEMU's host wall clock when the event happened (seconds + microseconds), or
 * {@code null} when QEMU could not read its clock (it sends -1).
 */
public sealed interface QmpEvent {
    /** The event name, e.g. {@code "JOB_STATUS_CHANGE"}. */
    String name();

    /** When QEMU emitted the event, or {@code null} if unknown. */
    Instant timestamp();

    /**
     * The event's {@code data} member ({@link JsonObject#EMPTY} when absent), including members not typed here.
     * Typed events narrow it to {@link JsonObject}.
     */
    Json data();

    /** The event as QEMU sent it (name, data, timestamp) in compact JSON. */
    default String toJson() {
        JsonObject.Builder ts = JsonObject.builder();
        if (timestamp() != null) {
            ts.put("seconds", timestamp().getEpochSecond()).put("microseconds", (long) timestamp().getNano() / 1000);
        } else {
            ts.put("seconds", -1L).put("microseconds", -1L);
        }
        return JsonObject.builder().put("event", name()).put("data", data()).put("timestamp", ts.build()).build()
                .toJson();
    }

    /**
     * {@code STOP}: the guest stopped.
     *
     * @param timestamp when
     * @param data raw data
     */
    record Stop(Instant timestamp, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "STOP";
        }
    }

    /**
     * {@code RESUME}: the guest runs again.
     *
     * @param timestamp when
     * @param data raw data
     */
    record Resume(Instant timestamp, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "RESUME";
        }
    }

    /**
     * {@code SHUTDOWN}: the guest shut down (QEMU may exit next).
     *
     * @param timestamp when
     * @param guest whether the guest initiated it
     * @param reason QEMU's {@code ShutdownCause}, e.g. {@code "host-qmp-quit"}
     * @param data raw data
     */
    record Shutdown(Instant timestamp, boolean guest, String reason, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "SHUTDOWN";
        }
    }

    /**
     * {@code MIGRATION}: the migration changed state (needs the {@code events} capability).
     *
     * @param timestamp when
     * @param status e.g. {@code "setup"}, {@code "active"}, {@code "completed"}, {@code "failed"}
     * @param data raw data
     */
    record Migration(Instant timestamp, String status, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "MIGRATION";
        }
    }

    /**
     * {@code MIGRATION_PASS}: a new RAM pass started.
     *
     * @param timestamp when
     * @param pass the pass number
     * @param data raw data
     */
    record MigrationPass(Instant timestamp, long pass, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "MIGRATION_PASS";
        }
    }

    /**
     * {@code JOB_STATUS_CHANGE}: a job moved to a new state.
     *
     * @param timestamp when
     * @param id the job id
     * @param status the new state ({@link QmpJobStatus#UNKNOWN} for new states; see {@link #rawStatus()})
     * @param data raw data
     */
    record JobStatusChange(Instant timestamp, String id, QmpJobStatus status, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "JOB_STATUS_CHANGE";
        }

        /** The status string as sent. */
        public String rawStatus() {
            return data.require("status").asString();
        }
    }

    /**
     * {@code BLOCK_JOB_COMPLETED}: a block job finished, successfully unless {@code error} is set.
     *
     * @param timestamp when
     * @param type job type, e.g. {@code "backup"}
     * @param device the job id
     * @param len the total work
     * @param offset the work done
     * @param speed the rate limit (0 = none)
     * @param error the error message, or {@code null} on success
     * @param data raw data
     */
    record BlockJobCompleted(Instant timestamp, String type, String device, long len, long offset, long speed,
            String error, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "BLOCK_JOB_COMPLETED";
        }
    }

    /**
     * {@code BLOCK_JOB_CANCELLED}: a block job was cancelled.
     *
     * @param timestamp when
     * @param type job type
     * @param device the job id
     * @param len the total work
     * @param offset the work done
     * @param speed the rate limit
     * @param data raw data
     */
    record BlockJobCancelled(Instant timestamp, String type, String device, long len, long offset, long speed,
            JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "BLOCK_JOB_CANCELLED";
        }
    }

    /**
     * {@code BLOCK_JOB_ERROR}: an I/O error in a block job.
     *
     * @param timestamp when
     * @param device the job id
     * @param operation {@code "read"} or {@code "write"}
     * @param action what QEMU does: {@code "ignore"}, {@code "report"}, {@code "stop"}
     * @param data raw data
     */
    record BlockJobError(Instant timestamp, String device, String operation, String action, JsonObject data)
            implements QmpEvent {
        @Override
        public String name() {
            return "BLOCK_JOB_ERROR";
        }
    }

    /**
     * {@code BLOCK_JOB_PENDING}: a job waits for finalization.
     *
     * @param timestamp when
     * @param type job type
     * @param id the job id
     * @param data raw data
     */
    record BlockJobPending(Instant timestamp, String type, String id, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "BLOCK_JOB_PENDING";
        }
    }

    /**
     * {@code BLOCK_JOB_READY}: a mirror/commit job can be completed.
     *
     * @param timestamp when
     * @param type job type
     * @param device the job id
     * @param len the total work
     * @param offset the work done
     * @param speed the rate limit
     * @param data raw data
     */
    record BlockJobReady(Instant timestamp, String type, String device, long len, long offset, long speed,
            JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "BLOCK_JOB_READY";
        }
    }

    /**
     * {@code DEVICE_DELETED}: a device was unplugged.
     *
     * @param timestamp when
     * @param device the device id, or {@code null} if it had none
     * @param path the QOM path
     * @param data raw data
     */
    record DeviceDeleted(Instant timestamp, String device, String path, JsonObject data) implements QmpEvent {
        @Override
        public String name() {
            return "DEVICE_DELETED";
        }
    }

    /**
     * Any other event (or a known one whose data did not decode), exactly as received.
     *
     * @param name the event name
     * @param data raw data ({@link JsonObject#EMPTY} when absent)
     * @param timestamp when, or null if unknown
     */
    record Raw(String name, Json data, Instant timestamp) implements QmpEvent {
    }
}
