package org.vmbackup.qmp;

import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns an event message into a {@link QmpEvent}; never throws for a well-formed event object. */
final class QmpEventDecoder {
    private static final Logger log = LoggerFactory.getLogger(QmpEventDecoder.class);

    private QmpEventDecoder() {
    }

    static QmpEvent decode(JsonObject message) {
        String name = message.require("event").asString();
        Instant ts = timestamp(message.get("timestamp"));
        Json d = message.get("data");
        Json raw = d == null ? JsonObject.EMPTY : d;
        if (!(raw instanceof JsonObject data)) {
            log.warn("event {} has non-object data; delivering it raw", name);
            return new QmpEvent.Raw(name, raw, ts);
        }
        try {
            return typed(name, ts, data);
        } catch (QmpProtocolException e) {
            log.warn("event {} does not have its documented shape ({}); delivering it raw", name, e.getMessage());
            return new QmpEvent.Raw(name, data, ts);
        }
    }

    private static QmpEvent typed(String name, Instant ts, JsonObject d) {
        switch (name) {
            case "STOP":
                return new QmpEvent.Stop(ts, d);
            case "RESUME":
                return new QmpEvent.Resume(ts, d);
            case "SHUTDOWN":
                return new QmpEvent.Shutdown(ts, d.require("guest").asBoolean(),
                        d.opt("reason").map(Json::asString).orElse(null), d);
            case "MIGRATION":
                return new QmpEvent.Migration(ts, d.require("status").asString(), d);
            case "MIGRATION_PASS":
                return new QmpEvent.MigrationPass(ts, d.require("pass").asLong(), d);
            case "JOB_STATUS_CHANGE":
                return new QmpEvent.JobStatusChange(ts, d.require("id").asString(),
                        QmpJobStatus.fromWire(d.require("status").asString()), d);
            case "BLOCK_JOB_COMPLETED":
                return new QmpEvent.BlockJobCompleted(ts, d.require("type").asString(), d.require("device").asString(),
                        d.require("len").asLong(), d.require("offset").asLong(), d.require("speed").asLong(),
                        d.opt("error").map(Json::asString).orElse(null), d);
            case "BLOCK_JOB_CANCELLED":
                return new QmpEvent.BlockJobCancelled(ts, d.require("type").asString(), d.require("device").asString(),
                        d.require("len").asLong(), d.require("offset").asLong(), d.require("speed").asLong(), d);
            case "BLOCK_JOB_ERROR":
                return new QmpEvent.BlockJobError(ts, d.require("device").asString(),
                        d.require("operation").asString(), d.require("action").asString(), d);
            case "BLOCK_JOB_PENDING":
                return new QmpEvent.BlockJobPending(ts, d.require("type").asString(), d.require("id").asString(), d);
            case "BLOCK_JOB_READY":
                return new QmpEvent.BlockJobReady(ts, d.require("type").asString(), d.require("device").asString(),
                        d.require("len").asLong(), d.require("offset").asLong(), d.require("speed").asLong(), d);
            case "DEVICE_DELETED":
                return new QmpEvent.DeviceDeleted(ts, d.opt("device").map(Json::asString).orElse(null),
                        d.require("path").asString(), d);
            default:
                return new QmpEvent.Raw(name, d, ts);
        }
    }

    private static Instant timestamp(Json ts) {
        if (!(ts instanceof JsonObject o)) {
            return null;
        }
        try {
            long s = o.require("seconds").asLong();
            long us = o.require("microseconds").asLong();
            return s < 0 || us < 0 ? null : Instant.ofEpochSecond(s, us * 1000);
        } catch (QmpProtocolException e) {
            return null;
        }
    }
}
