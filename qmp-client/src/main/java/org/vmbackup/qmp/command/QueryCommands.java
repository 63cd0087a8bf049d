package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpCommand;
import org.vmbackup.qmp.QmpJobStatus;
import org.vmbackup.qmp.QmpVersion;

/**
 * The read-only {@code query-*} commands a backup uses to learn and re-sync state. Every result record keeps
 * the raw JSON as well, for members not typed here.
 */
public final class QueryCommands {
    private QueryCommands() {
    }

    /** {@code query-version}: the QEMU version. */
    public record QueryVersion() implements QmpCommand<QmpVersion> {
        @Override
        public String name() {
            return "query-version";
        }

        @Override
        public QmpVersion decode(Json result) {
            return QmpVersion.decode(result);
        }
    }

    /** {@code query-status}: whether the guest runs. */
    public record QueryStatus() implements QmpCommand<StatusInfo> {
        @Override
        public String name() {
            return "query-status";
        }

        @Override
        public StatusInfo decode(Json r) {
            return new StatusInfo(r.require("running").asBoolean(), r.require("status").asString(), r.asObject());
        }
    }

    /**
     * The guest's run state.
     *
     * @param running whether vCPUs run
     * @param status the {@code RunState}, e.g. {@code "running"}, {@code "paused"}, {@code "prelaunch"}
     * @param raw the reply
     */
    public record StatusInfo(boolean running, String status, JsonObject raw) {
    }

    /** {@code query-block}: the block devices (drives) and their inserted images. */
    public record QueryBlock() implements QmpCommand<List<BlockInfo>> {
        @Override
        public String name() {
            return "query-block";
        }

        @Override
        public List<BlockInfo> decode(Json r) {
            return r.elements().stream().map(e -> new BlockInfo(e.require("device").asString(),
                    e.opt("qdev").map(Json::asString).orElse(null), e.opt("removable").map(Json::asBoolean)
                    .orElse(false), e.opt("inserted").map(BlockDeviceInfo::decode).orElse(null), e.asObject()))
                    .toList();
        }
    }

    /**
     * One entry of {@code query-block}.
     *
     * @param device the drive id ({@code ""} for -blockdev devices, which are named by qdev)
     * @param qdev the device's qdev id or QOM path, or null
     * @param removable whether the medium can be removed
     * @param inserted the image, or null if the drive is empty
     * @param raw the entry
     */
    public record BlockInfo(String device, String qdev, boolean removable, BlockDeviceInfo inserted, JsonObject raw) {
    }

    /**
     * A block node ({@code BlockDeviceInfo}).
     *
     * @param nodeName the node name
     * @param driver the format driver, e.g. {@code "qcow2"}, {@code "raw"}, {@code "file"}
     * @param file the file name QEMU shows (may be a JSON pseudo-filename)
     * @param readOnly whether it is read-only
     * @param virtualSize the guest-visible size in bytes, or -1 if not reported
     * @param dirtyBitmaps its dirty bitmaps (QEMU 4.2+ lists them here, in {@code query-block}'s inserted image
     *     as in {@code query-named-block-nodes})
     * @param raw the entry
     */
    public record BlockDeviceInfo(String nodeName, String driver, String file, boolean readOnly, long virtualSize,
            List<DirtyBitmapInfo> dirtyBitmaps, JsonObject raw) {
        /** Copies the bitmaps. */
        public BlockDeviceInfo {
            dirtyBitmaps = List.copyOf(dirtyBitmaps);
        }

        /** Decodes a {@code BlockDeviceInfo}. */
        public static BlockDeviceInfo decode(Json e) {
            long size = e.opt("image").flatMap(i -> i.opt("virtual-size")).map(Json::asLong).orElse(-1L);
            List<DirtyBitmapInfo> bitmaps = e.opt("dirty-bitmaps").map(b -> b.elements().stream()
                    .map(DirtyBitmapInfo::decode).toList()).orElse(List.of());
            return new BlockDeviceInfo(e.opt("node-name").map(Json::asString).orElse(null),
                    e.require("drv").asString(), e.opt("file").map(Json::asString).orElse(null),
                    e.opt("ro").map(Json::asBoolean).orElse(false), size, bitmaps, e.asObject());
        }

        /** The bitmap named {@code name}, if the node has one. */
        public Optional<DirtyBitmapInfo> bitmap(String name) {
            return dirtyBitmaps.stream().filter(b -> name.equals(b.name())).findFirst();
        }
    }

    /**
     * A dirty bitmap of a node ({@code BlockDirtyInfo}).
     *
     * @param name the bitmap's name ({@code ""} for an anonymous one, which only QEMU itself creates)
     * @param count the dirty bytes: the set bits times the granularity, so a partly written cluster counts whole
     * @param granularity bytes per bit
     * @param recording whether guest writes are being recorded (false: disabled, or frozen by a job)
     * @param busy whether a job uses it (it cannot be changed or removed then)
     * @param persistent whether it is stored in the (qcow2) image when QEMU closes it
     * @param inconsistent whether it was found in use in the image (QEMU did not close it): its contents are
     *     unknown, it can only be removed; QEMU reports the member only when true
     */
    public record DirtyBitmapInfo(String name, long count, long granularity, boolean recording, boolean busy,
            boolean persistent, boolean inconsistent) {
        /** Decodes a {@code BlockDirtyInfo}. */
        public static DirtyBitmapInfo decode(Json e) {
            return new DirtyBitmapInfo(e.opt("name").map(Json::asString).orElse(""), e.require("count").asLong(),
                    e.require("granularity").asLong(), e.require("recording").asBoolean(),
                    e.require("busy").asBoolean(), e.require("persistent").asBoolean(),
                    e.opt("inconsistent").map(Json::asBoolean).orElse(false));
        }
    }

    /**
     * {@code query-named-block-nodes}.
     *
     * @param flat whether to omit the backing chain details ({@code null}: QEMU's default, false)
     */
    public record QueryNamedBlockNodes(Boolean flat) implements QmpCommand<List<BlockDeviceInfo>> {
        /** All nodes with QEMU's default detail. */
        public QueryNamedBlockNodes() {
            this(null);
        }

        @Override
        public String name() {
            return "query-named-block-nodes";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.bool(g, "flat", flat);
        }

        @Override
        public List<BlockDeviceInfo> decode(Json r) {
            return r.elements().stream().map(BlockDeviceInfo::decode).toList();
        }
    }

    /** {@code query-jobs}: every job (backup, mirror, stream, create...). */
    public record QueryJobs() implements QmpCommand<List<JobInfo>> {
        @Override
        public String name() {
            return "query-jobs";
        }

        @Override
        public List<JobInfo> decode(Json r) {
            return r.elements().stream().map(e -> new JobInfo(e.require("id").asString(), e.require("type").asString(),
                    QmpJobStatus.fromWire(e.require("status").asString()), e.require("current-progress").asLong(),
                    e.require("total-progress").asLong(), e.opt("error").map(Json::asString).orElse(null),
                    e.asObject())).toList();
        }
    }

    /**
     * One job of {@code query-jobs}.
     *
     * @param id the job id
     * @param type e.g. {@code "backup"}
     * @param status its state
     * @param currentProgress work done (arbitrary units)
     * @param totalProgress total work (may grow)
     * @param error the error if it failed, else null
     * @param raw the entry
     */
    public record JobInfo(String id, String type, QmpJobStatus status, long currentProgress, long totalProgress,
            String error, JsonObject raw) {
    }

    /** {@code query-block-jobs}: the block jobs. */
    public record QueryBlockJobs() implements QmpCommand<List<BlockJobInfo>> {
        @Override
        public String name() {
            return "query-block-jobs";
        }

        @Override
        public List<BlockJobInfo> decode(Json r) {
            return r.elements().stream().map(e -> new BlockJobInfo(e.require("type").asString(),
                    e.require("device").asString(), e.require("len").asLong(), e.require("offset").asLong(),
                    e.require("speed").asLong(), e.require("busy").asBoolean(), e.require("paused").asBoolean(),
                    e.require("ready").asBoolean(), QmpJobStatus.fromWire(e.require("status").asString()),
                    e.asObject())).toList();
        }
    }

    /**
     * One entry of {@code query-block-jobs}.
     *
     * @param type job type
     * @param device the job id
     * @param len total work in bytes
     * @param offset work done in bytes
     * @param speed rate limit in bytes/s (0 = none)
     * @param busy whether it is doing I/O now
     * @param paused whether it is paused
     * @param ready whether a mirror can be completed
     * @param status the job state
     * @param raw the entry
     */
    public record BlockJobInfo(String type, String device, long len, long offset, long speed, boolean busy,
            boolean paused, boolean ready, QmpJobStatus status, JsonObject raw) {
    }

    /** {@code query-migrate}: the migration state. */
    public record QueryMigrate() implements QmpCommand<MigrationInfo> {
        @Override
        public String name() {
            return "query-migrate";
        }

        @Override
        public MigrationInfo decode(Json r) {
            return new MigrationInfo(r.opt("status").map(Json::asString).orElse(null),
                    r.opt("ram").flatMap(x -> x.opt("transferred")).map(Json::asLong).orElse(-1L),
                    r.opt("ram").flatMap(x -> x.opt("total")).map(Json::asLong).orElse(-1L),
                    r.opt("ram").flatMap(x -> x.opt("normal")).map(Json::asLong).orElse(0L),
                    r.opt("ram").flatMap(x -> x.opt("duplicate")).map(Json::asLong).orElse(0L),
                    r.opt("downtime").map(Json::asLong).orElse(-1L),
                    r.opt("error-desc").map(Json::asString).orElse(null), r.asObject());
        }
    }

    /**
     * The state of the last migration.
     *
     * @param status e.g. {@code "active"}, {@code "completed"}, or null if none ever started
     * @param ramTransferred RAM bytes sent, or -1
     * @param ramTotal total RAM bytes, or -1
     * @param ramNormalPages RAM pages sent whole (0 before the first, or without a {@code ram} member)
     * @param ramDuplicatePages RAM pages sent as one repeated byte (0 likewise)
     * @param downtimeMillis guest downtime of a completed migration in ms, or -1
     * @param errorDesc why it failed, or null
     * @param raw the reply
     */
    public record MigrationInfo(String status, long ramTransferred, long ramTotal, long ramNormalPages,
            long ramDuplicatePages, long downtimeMillis, String errorDesc, JsonObject raw) {
        /** The status, {@code "none"} when no migration ever started. */
        public String statusOrNone() {
            return status == null ? "none" : status;
        }

        /** Whether a migration is under way (not none, completed, failed or cancelled). */
        public boolean inProgress() {
            return switch (statusOrNone()) {
                case "none", "completed", "failed", "cancelled" -> false;
                default -> true;
            };
        }

        /**
         * Whether the stream has carried RAM pages. For a background snapshot the first page is sent only after the
         * device state was captured and RAM write tracking armed, so from then on the guest may run.
         */
        public boolean ramPagesSent() {
            return ramNormalPages + ramDuplicatePages > 0;
        }
    }

    /** {@code query-migrate-capabilities}: every capability this QEMU knows and whether it is on. */
    public record QueryMigrateCapabilities() implements QmpCommand<List<MigrationCommands.Capability>> {
        @Override
        public String name() {
            return "query-migrate-capabilities";
        }

        @Override
        public List<MigrationCommands.Capability> decode(Json r) {
            return r.elements().stream().map(e -> new MigrationCommands.Capability(e.require("capability").asString(),
                    e.require("state").asBoolean())).toList();
        }
    }

    /** {@code query-memory-size-summary}: guest RAM. */
    public record QueryMemorySizeSummary() implements QmpCommand<MemorySizeSummary> {
        @Override
        public String name() {
            return "query-memory-size-summary";
        }

        @Override
        public MemorySizeSummary decode(Json r) {
            return new MemorySizeSummary(r.require("base-memory").asLong(),
                    r.opt("plugged-memory").map(Json::asLong).orElse(0L));
        }
    }

    /**
     * Guest RAM sizes.
     *
     * @param baseMemory boot RAM in bytes
     * @param pluggedMemory hot-plugged RAM in bytes (0 if none)
     */
    public record MemorySizeSummary(long baseMemory, long pluggedMemory) {
    }

    /**
     * {@code qom-get}: one property of a QOM object, as raw JSON.
     *
     * @param path the object's path, e.g. {@code "/machine"}
     * @param property the property, e.g. {@code "type"}
     */
    public record QomGet(String path, String property) implements QmpCommand<Json> {
        /** Requires both. */
        public QomGet {
            Objects.requireNonNull(path, "path");
            Objects.requireNonNull(property, "property");
        }

        @Override
        public String name() {
            return "qom-get";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("path", path);
            g.writeStringField("property", property);
        }

        @Override
        public Json decode(Json r) {
            return r;
        }
    }

    /** {@code query-qmp-schema}: the whole schema as raw JSON (use {@code QmpClient.schema()} to index it). */
    public record QueryQmpSchema() implements QmpCommand<Json> {
        @Override
        public String name() {
            return "query-qmp-schema";
        }

        @Override
        public Json decode(Json r) {
            r.asArray();
            return r;
        }

        @Override
        public Duration defaultTimeout() {
            return null;
        }
    }
}
