package org.vmbackup.qmp.command;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.Objects;

/** Block nodes and block jobs: {@code blockdev-add/-del}, {@code blockdev-backup}, mirror, stream, speed. */
public final class BlockCommands {
    private BlockCommands() {
    }

    /** {@code MirrorSyncMode}: how much a backup or mirror copies. */
    public enum SyncMode {
        /** The top image only. */
        TOP("top"),
        /** Everything. */
        FULL("full"),
        /** Only data the guest overwrites (copy-before-write; fleecing). */
        NONE("none"),
        /** The clusters in the bitmap (legacy form of BITMAP with on-success). */
        INCREMENTAL("incremental"),
        /** The clusters in the bitmap, with a bitmap mode. */
        BITMAP("bitmap");

        private final String wire;

        SyncMode(String wire) {
            this.wire = wire;
        }

        /** The wire name. */
        public String wireName() {
            return wire;
        }
    }

    /** {@code BitmapSyncMode}: what a {@code sync=bitmap} backup does with its bitmap when the job ends. */
    public enum BitmapSyncMode {
        /** Clear the bitmap's copied bits if the job succeeded (what {@code sync=incremental} does). */
        ON_SUCCESS("on-success"),
        /** Leave the bitmap as it is. */
        NEVER("never"),
        /** Clear the copied bits even if the job failed (the bits of what was copied). */
        ALWAYS("always");

        private final String wire;

        BitmapSyncMode(String wire) {
            this.wire = wire;
        }

        /** The wire name. */
        public String wireName() {
            return wire;
        }
    }

    /**
     * {@code BackupPerf} ({@code x-perf}, unstable in QEMU): the job's copy machinery. Null members are QEMU's
     * defaults.
     *
     * @param useCopyRange copy with copy_file_range where possible, or null
     * @param maxWorkers parallel requests of the job (QEMU's default 64), or null
     * @param maxChunk bytes per request (0 = QEMU's choice), or null
     */
    public record BackupPerf(Boolean useCopyRange, Long maxWorkers, Long maxChunk) {
        /** A positive worker count, a non-negative chunk. */
        public BackupPerf {
            if (maxWorkers != null && maxWorkers < 1) {
                throw new IllegalArgumentException("max-workers must be at least 1, not " + maxWorkers);
            }
            if (maxChunk != null && maxChunk < 0) {
                throw new IllegalArgumentException("max-chunk must not be negative, not " + maxChunk);
            }
        }

        void writeMembers(JsonGenerator g) throws IOException {
            Args.bool(g, "use-copy-range", useCopyRange);
            Args.num(g, "max-workers", maxWorkers);
            Args.num(g, "max-chunk", maxChunk);
        }
    }

    /**
     * {@code blockdev-add}: creates a block node.
     *
     * @param options the node
     */
    public record BlockdevAdd(BlockdevOptions options) implements VoidCommand {
        /** Requires options. */
        public BlockdevAdd {
            Objects.requireNonNull(options, "options");
        }

        @Override
        public String name() {
            return "blockdev-add";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            options.writeMembers(g);
        }
    }

    /**
     * {@code blockdev-del}: removes a node that nothing uses any more.
     *
     * @param nodeName the node
     */
    public record BlockdevDel(String nodeName) implements VoidCommand {
        /** Requires a node name. */
        public BlockdevDel {
            Objects.requireNonNull(nodeName, "nodeName");
        }

        @Override
        public String name() {
            return "blockdev-del";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("node-name", nodeName);
        }
    }

    /**
     * {@code blockdev-backup}: starts a backup job copying {@code device} to the node {@code target}. Also a
     * {@code transaction} action. Null members are left to QEMU's defaults.
     *
     * @param jobId the job id (defaults to the device name in QEMU if null)
     * @param device the source node
     * @param target the target node (already added)
     * @param sync what to copy
     * @param speed bytes/s limit (0 = none), or null
     * @param bitmap the dirty bitmap for {@code incremental}/{@code bitmap} sync, or null
     * @param bitmapMode {@code "on-success"}, {@code "never"}, {@code "always"}, or null
     * @param compress compress the target (qcow2 targets), or null
     * @param onSourceError {@code "report"}, {@code "ignore"}, {@code "stop"}..., or null
     * @param onTargetError the same for target errors, or null
     * @param autoFinalize finalize without {@code job-finalize}, or null (true)
     * @param autoDismiss dismiss without {@code job-dismiss}, or null (true)
     * @param filterNodeName name of the copy-before-write filter node, or null
     * @param discardSource discard the source's clusters once copied (9.1+, for fleecing images), or null
     * @param perf the job's unstable performance knobs ({@code x-perf}, 6.0+), or null
     */
    public record BlockdevBackup(String jobId, String device, String target, SyncMode sync, Long speed,
            String bitmap, String bitmapMode, Boolean compress, String onSourceError, String onTargetError,
            Boolean autoFinalize, Boolean autoDismiss, String filterNodeName, Boolean discardSource,
            BackupPerf perf) implements VoidCommand, TransactionCommands.Action {
        /** Requires device, target and sync; a bitmap exactly for the bitmap sync modes. */
        public BlockdevBackup {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(sync, "sync");
            boolean needsBitmap = sync == SyncMode.BITMAP || sync == SyncMode.INCREMENTAL;
            if (needsBitmap && bitmap == null) {
                throw new IllegalArgumentException("sync " + sync.wireName() + " needs a bitmap");
            }
            if (sync == SyncMode.INCREMENTAL && bitmapMode != null) {
                throw new IllegalArgumentException("sync incremental takes no bitmap mode (it is on-success)");
            }
            if (sync == SyncMode.BITMAP && bitmapMode == null) {
                throw new IllegalArgumentException("sync bitmap needs a bitmap mode");
            }
        }

        /** A builder with the required members. */
        public static Builder builder(String jobId, String device, String target, SyncMode sync) {
            return new Builder(jobId, device, target, sync);
        }

        @Override
        public String name() {
            return "blockdev-backup";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.str(g, "job-id", jobId);
            g.writeStringField("device", device);
            g.writeStringField("target", target);
            g.writeStringField("sync", sync.wireName());
            Args.num(g, "speed", speed);
            Args.str(g, "bitmap", bitmap);
            Args.str(g, "bitmap-mode", bitmapMode);
            Args.bool(g, "compress", compress);
            Args.str(g, "on-source-error", onSourceError);
            Args.str(g, "on-target-error", onTargetError);
            Args.bool(g, "auto-finalize", autoFinalize);
            Args.bool(g, "auto-dismiss", autoDismiss);
            Args.str(g, "filter-node-name", filterNodeName);
            Args.bool(g, "discard-source", discardSource);
            if (perf != null) {
                g.writeObjectFieldStart("x-perf");
                perf.writeMembers(g);
                g.writeEndObject();
            }
        }

        /** Builds a {@link BlockdevBackup}. */
        public static final class Builder {
            private final String jobId;
            private final String device;
            private final String target;
            private final SyncMode sync;
            private Long speed;
            private String bitmap;
            private String bitmapMode;
            private Boolean compress;
            private String onSourceError;
            private String onTargetError;
            private Boolean autoFinalize;
            private Boolean autoDismiss;
            private String filterNodeName;
            private Boolean discardSource;
            private BackupPerf perf;

            private Builder(String jobId, String device, String target, SyncMode sync) {
                this.jobId = jobId;
                this.device = device;
                this.target = target;
                this.sync = sync;
            }

            /** Bytes/s limit. */
            public Builder speed(long bytesPerSecond) {
                this.speed = bytesPerSecond;
                return this;
            }

            /**
             * The bitmap and its mode for incremental backups.
             *
             * @param name the bitmap of the device's node
             * @param mode what happens to the bitmap when the job ends ({@code sync=bitmap}); null for
             *     {@code sync=incremental}
             */
            public Builder bitmap(String name, BitmapSyncMode mode) {
                this.bitmap = name;
                this.bitmapMode = mode == null ? null : mode.wireName();
                return this;
            }

            /** Discard the source's clusters once copied (9.1+). */
            public Builder discardSource(boolean v) {
                this.discardSource = v;
                return this;
            }

            /** The {@code x-perf} knobs. */
            public Builder perf(BackupPerf perf) {
                this.perf = perf;
                return this;
            }

            /** Compress the target. */
            public Builder compress(boolean compress) {
                this.compress = compress;
                return this;
            }

            /** Error policies. */
            public Builder onError(String source, String target) {
                this.onSourceError = source;
                this.onTargetError = target;
                return this;
            }

            /** auto-finalize. */
            public Builder autoFinalize(boolean v) {
                this.autoFinalize = v;
                return this;
            }

            /** auto-dismiss. */
            public Builder autoDismiss(boolean v) {
                this.autoDismiss = v;
                return this;
            }

            /** The copy-before-write filter's node name. */
            public Builder filterNodeName(String name) {
                this.filterNodeName = name;
                return this;
            }

            /** The command. */
            public BlockdevBackup build() {
                return new BlockdevBackup(jobId, device, target, sync, speed, bitmap, bitmapMode, compress,
                        onSourceError, onTargetError, autoFinalize, autoDismiss, filterNodeName, discardSource, perf);
            }
        }
    }

    /**
     * {@code blockdev-mirror}: mirrors {@code device} to {@code target}; completes with {@code job-complete}
     * after {@code BLOCK_JOB_READY}.
     *
     * @param jobId the job id, or null
     * @param device the source node
     * @param target the target node
     * @param sync what to copy
     * @param speed bytes/s limit, or null
     * @param replaces the node the target replaces on completion, or null
     * @param autoFinalize or null
     * @param autoDismiss or null
     * @param filterNodeName the mirror filter's node name, or null
     * @param copyMode {@code "background"} or {@code "write-blocking"}, or null
     */
    public record BlockdevMirror(String jobId, String device, String target, SyncMode sync, Long speed,
            String replaces, Boolean autoFinalize, Boolean autoDismiss, String filterNodeName, String copyMode)
            implements VoidCommand {
        /** Requires device, target and sync. */
        public BlockdevMirror {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(sync, "sync");
        }

        /** A mirror with QEMU's defaults. */
        public BlockdevMirror(String jobId, String device, String target, SyncMode sync) {
            this(jobId, device, target, sync, null, null, null, null, null, null);
        }

        @Override
        public String name() {
            return "blockdev-mirror";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.str(g, "job-id", jobId);
            g.writeStringField("device", device);
            g.writeStringField("target", target);
            g.writeStringField("sync", sync.wireName());
            Args.num(g, "speed", speed);
            Args.str(g, "replaces", replaces);
            Args.bool(g, "auto-finalize", autoFinalize);
            Args.bool(g, "auto-dismiss", autoDismiss);
            Args.str(g, "filter-node-name", filterNodeName);
            Args.str(g, "copy-mode", copyMode);
        }
    }

    /**
     * {@code block-stream}: copies data from backing files into {@code device}.
     *
     * @param jobId the job id, or null
     * @param device the node to fill
     * @param baseNode stream down to (excluding) this node, or null for the whole chain
     * @param speed bytes/s limit, or null
     * @param autoFinalize or null
     * @param autoDismiss or null
     */
    public record BlockStream(String jobId, String device, String baseNode, Long speed, Boolean autoFinalize,
            Boolean autoDismiss) implements VoidCommand {
        /** Requires a device. */
        public BlockStream {
            Objects.requireNonNull(device, "device");
        }

        @Override
        public String name() {
            return "block-stream";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            Args.str(g, "job-id", jobId);
            g.writeStringField("device", device);
            Args.str(g, "base-node", baseNode);
            Args.num(g, "speed", speed);
            Args.bool(g, "auto-finalize", autoFinalize);
            Args.bool(g, "auto-dismiss", autoDismiss);
        }
    }

    /**
     * {@code block-job-set-speed}: changes a block job's rate limit.
     *
     * @param device the job id
     * @param speed bytes/s (0 = unlimited)
     */
    public record BlockJobSetSpeed(String device, long speed) implements VoidCommand {
        /** Requires a job id. */
        public BlockJobSetSpeed {
            Objects.requireNonNull(device, "device");
        }

        @Override
        public String name() {
            return "block-job-set-speed";
        }

        @Override
        public void writeArguments(JsonGenerator g) throws IOException {
            g.writeStringField("device", device);
            g.writeNumberField("speed", speed);
        }
    }
}
