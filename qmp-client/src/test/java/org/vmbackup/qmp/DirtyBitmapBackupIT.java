package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.qmp.ItSupport.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.BlockCommands.BitmapSyncMode;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.BlockdevOptions;
import org.vmbackup.qmp.command.DirtyBitmapCommands;
import org.vmbackup.qmp.command.JobCommands;
import org.vmbackup.qmp.command.MachineCommands;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.command.QueryCommands.DirtyBitmapInfo;
import org.vmbackup.qmp.command.TransactionCommands;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RequiredTool;

/**
 * The commands incremental backups are built on, against the real QEMU (7.2 and 10.0 in CI): a bitmap records
 * guest writes (HMP {@code qemu-io}), {@code query-named-block-nodes} counts them, and a {@code sync=bitmap} /
 * {@code sync=incremental} backup copies exactly the marked clusters into a target whose other bytes stay as
 * they were.
 */
class DirtyBitmapBackupIT {
    private static final Duration T = Duration.ofSeconds(30);
    private static final int SIZE = 4 << 20;
    private static final int GRANULARITY = 64 << 10;

    private static void addRawNode(QmpClient qmp, String name, Path image) throws Exception {
        await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Raw(name,
                BlockdevOptions.Ref.of(new BlockdevOptions.File(name + "-file", image.toString())), null))));
    }

    /**
     * A guest-like write through the node's block layer (HMP qemu-io takes a drive or node name), seen by its
     * bitmaps. What qemu-io prints back on success differs by version (7.2: nothing); the bitmap counts below
     * show the write happened.
     */
    private static void write(QmpClient qmp, String node, int pattern, long offset, int length) throws Exception {
        String out = await(qmp.execute(new MachineCommands.HumanMonitorCommand("qemu-io " + node
                + " \"write -P " + pattern + " " + offset + " " + length + "\"")));
        assertThat(out).as("qemu-io's answer").doesNotContainIgnoringCase("error");
    }

    private static DirtyBitmapInfo bitmap(QmpClient qmp, String node, String name) throws Exception {
        return await(qmp.execute(new QueryCommands.QueryNamedBlockNodes(true))).stream()
                .filter(n -> node.equals(n.nodeName())).findFirst().orElseThrow()
                .bitmap(name).orElseThrow(() -> new AssertionError("no bitmap " + name + " on " + node));
    }

    /** Runs one backup job to its end and returns its error (null: success). */
    private static String runJob(QmpClient qmp, QmpEventSubscription events, String id,
            BlockCommands.BlockdevBackup backup) throws Exception {
        await(qmp.execute(backup));
        await(events.await(QmpEvent.JobStatusChange.class,
                e -> e.id().equals(id) && e.status() == QmpJobStatus.CONCLUDED, T));
        String error = await(qmp.execute(new QueryCommands.QueryJobs())).stream().filter(j -> j.id().equals(id))
                .findFirst().orElseThrow().error();
        await(qmp.execute(new JobCommands.JobDismiss(id)));
        return error;
    }

    /** {@code target} with the clusters {@code [from, to)} of {@code source} copied in. */
    private static byte[] expect(byte[] target, byte[] source, long... ranges) {
        byte[] out = target.clone();
        for (int i = 0; i < ranges.length; i += 2) {
            System.arraycopy(source, (int) ranges[i], out, (int) ranges[i], (int) (ranges[i + 1] - ranges[i]));
        }
        return out;
    }

    @Test
    void bitmapBackupsCopyOnlyTheMarkedClusters() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("src.img"), "4M", 0x11);
                        for (String t : List.of("dst1.img", "dst2.img")) {
                            ItSupport.run(RequiredTool.QEMU_IMG, "create", "-q", "-f", "raw",
                                    dir.resolve(t).toString(), "4M");
                            ItSupport.run(RequiredTool.QEMU_IO, "-f", "raw", "-c", "write -q -P 0xee 0 4M",
                                    dir.resolve(t).toString());
                        }
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription events = qmp.subscribe()) {
            addRawNode(qmp, "src", vm.dir().resolve("src.img"));
            addRawNode(qmp, "dst1", vm.dir().resolve("dst1.img"));
            addRawNode(qmp, "dst2", vm.dir().resolve("dst2.img"));

            // One transaction starts the recording bitmap and a disabled one (the shape of "start the next
            // bitmap with this backup"); the disabled one must not record.
            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    new DirtyBitmapCommands.Add("src", "since-full", (long) GRANULARITY, false, false),
                    new DirtyBitmapCommands.Add("src", "parked", (long) GRANULARITY, false, true)))));
            assertThat(bitmap(qmp, "src", "since-full"))
                    .isEqualTo(new DirtyBitmapInfo("since-full", 0, GRANULARITY, true, false, false, false));

            // 4 KiB inside cluster 1, 128 KiB spanning clusters 16-17 and 36 KiB straddling clusters 31/32
            write(qmp, "src", 0x5a, 65536 + 8192, 4096);
            write(qmp, "src", 0x5b, 1 << 20, 131072);
            write(qmp, "src", 0x5c, 32 * GRANULARITY - 4096, 36864);
            DirtyBitmapInfo b = bitmap(qmp, "src", "since-full");
            assertThat(b.count()).as("dirty bytes: clusters 1, 16, 17, 31, 32").isEqualTo(5L * GRANULARITY);
            assertThat(b.recording()).isTrue();
            assertThat(bitmap(qmp, "src", "parked").count()).isZero();
            assertThat(bitmap(qmp, "src", "parked").recording()).isFalse();

            // sync=bitmap with on-success: the marked clusters, then the bitmap is empty
            String error = runJob(qmp, events, "inc1", BlockCommands.BlockdevBackup.builder("inc1", "src", "dst1",
                    SyncMode.BITMAP).bitmap("since-full", BitmapSyncMode.ON_SUCCESS).autoDismiss(false).build());
            assertThat(error).isNull();
            byte[] src = Files.readAllBytes(vm.dir().resolve("src.img"));
            byte[] fill = new byte[SIZE];
            Arrays.fill(fill, (byte) 0xee);
            byte[] dst1 = Files.readAllBytes(vm.dir().resolve("dst1.img"));
            assertThat(Arrays.equals(dst1, expect(fill, src, GRANULARITY, 2L * GRANULARITY, 16L * GRANULARITY,
                    18L * GRANULARITY, 31L * GRANULARITY, 33L * GRANULARITY)))
                    .as("dst1 holds exactly clusters 1, 16-17, 31-32 of the source").isTrue();
            assertThat(bitmap(qmp, "src", "since-full").count()).isZero();

            // the next change, merged into the parked bitmap and backed up with sync=incremental from it
            write(qmp, "src", 0x5d, 3L << 20, 512);
            assertThat(bitmap(qmp, "src", "since-full").count()).isEqualTo(GRANULARITY);
            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    new DirtyBitmapCommands.Clear("src", "parked"),
                    new DirtyBitmapCommands.Merge("src", "parked",
                            List.of(DirtyBitmapCommands.BitmapRef.named("since-full"))),
                    new DirtyBitmapCommands.Clear("src", "since-full")))));
            assertThat(bitmap(qmp, "src", "parked").count()).isEqualTo(GRANULARITY);
            error = runJob(qmp, events, "inc2", BlockCommands.BlockdevBackup.builder("inc2", "src", "dst2",
                    SyncMode.INCREMENTAL).bitmap("parked", null).autoDismiss(false).build());
            assertThat(error).isNull();
            byte[] dst2 = Files.readAllBytes(vm.dir().resolve("dst2.img"));
            src = Files.readAllBytes(vm.dir().resolve("src.img"));
            assertThat(Arrays.equals(dst2, expect(fill, src, 48L * GRANULARITY, 49L * GRANULARITY)))
                    .as("dst2 holds exactly cluster 48 of the source").isTrue();
            assertThat(bitmap(qmp, "src", "parked").count()).isZero();

            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    new DirtyBitmapCommands.Remove("src", "since-full"),
                    new DirtyBitmapCommands.Remove("src", "parked")))));
            assertThat(await(qmp.execute(new QueryCommands.QueryNamedBlockNodes(true))).stream()
                    .filter(n -> "src".equals(n.nodeName())).findFirst().orElseThrow().dirtyBitmaps()).isEmpty();
        }
    }
}
