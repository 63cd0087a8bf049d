package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vmbackup.qmp.ItSupport.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.BlockdevOptions;
import org.vmbackup.qmp.command.DirtyBitmapCommands;
import org.vmbackup.qmp.command.NbdCommands;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.command.SocketAddress;
import org.vmbackup.qmp.command.TransactionCommands;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RequiredTool;

/**
 * The client against qemu-storage-daemon 7.2, and a backup from a qemu-system-x86_64 node into an NBD export
 * that the storage daemon serves (blockdev-add nbd, nbd-server-start, block-export-add).
 */
class QmpStorageDaemonIT {
    private static final Duration T = Duration.ofSeconds(30);

    @Test
    void storageDaemonServesABackupTargetOverNbd() throws Exception {
        try (QemuProcess daemon = QemuProcess.storageDaemon().start(dir -> {
                    try {
                        ItSupport.run(RequiredTool.QEMU_IMG, "create", "-q", "-f", "qcow2",
                                dir.resolve("target.qcow2").toString(), "4M");
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QemuProcess vm = QemuProcess.system().start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("disk.img"), "4M", 0x5a);
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient sd = await(QmpClient.connect(daemon.qmpSocket()));
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription events = qmp.subscribe()) {
            assertThat(await(sd.execute(new QueryCommands.QueryVersion()))).isEqualTo(qmp.greeting().version());
            assertThat(await(sd.execute(new QueryCommands.QueryJobs()))).isEmpty();
            assertThat(await(sd.execute(new QueryCommands.QueryBlockJobs()))).isEmpty();

            await(sd.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Qcow2("target",
                    BlockdevOptions.Ref.of(new BlockdevOptions.File("target-file",
                            daemon.dir().resolve("target.qcow2").toString()))))));
            await(sd.execute(new DirtyBitmapCommands.Add("target", "since-full", null, true, null)));
            var nodes = await(sd.execute(new QueryCommands.QueryNamedBlockNodes()));
            assertThat(nodes).extracting(QueryCommands.BlockDeviceInfo::nodeName).contains("target", "target-file");
            assertThat(nodes).filteredOn(n -> "target".equals(n.nodeName())).singleElement().satisfies(n -> {
                assertThat(n.driver()).isEqualTo("qcow2");
                assertThat(n.virtualSize()).isEqualTo(4L << 20);
                assertThat(n.dirtyBitmaps()).singleElement().satisfies(b -> {
                    assertThat(b.name()).isEqualTo("since-full");
                    assertThat(b.persistent()).isTrue();
                    assertThat(b.recording()).isTrue();
                });
            });

            Path nbdSock = daemon.dir().resolve("nbd.sock");
            await(sd.execute(new NbdCommands.NbdServerStart(SocketAddress.unix(nbdSock.toString()))));
            await(sd.execute(new NbdCommands.BlockExportAdd("exp", "target", "vda", true, List.of("since-full"),
                    true)));
            Json exports = await(sd.execute("query-block-exports", null));
            assertThat(exports.elements()).singleElement().satisfies(e -> assertThat(e.get("id").asString())
                    .isEqualTo("exp"));

            await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Raw("disk",
                    BlockdevOptions.Ref.of(new BlockdevOptions.File("disk-file", vm.dir().resolve("disk.img").toString())),
                    null))));
            await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Nbd("bk-target",
                    SocketAddress.unix(nbdSock.toString()), "vda", 5L, 5L, null))));
            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    BlockCommands.BlockdevBackup.builder("bk", "disk", "bk-target", SyncMode.FULL)
                            .autoDismiss(false).build()), TransactionCommands.CompletionMode.GROUPED)));
            var done = await(events.await(QmpEvent.BlockJobCompleted.class, e -> e.device().equals("bk"), T));
            assertThat(done.error()).isNull();
            assertThat(done.len()).isEqualTo(4L << 20);
            await(qmp.execute(new org.vmbackup.qmp.command.JobCommands.JobDismiss("bk")));
            await(qmp.execute(new BlockCommands.BlockdevDel("bk-target")));

            await(sd.execute(new NbdCommands.BlockExportDel("exp", null)));
            await(sd.execute(new NbdCommands.NbdServerStop()));
            await(sd.execute(new DirtyBitmapCommands.Remove("target", "since-full")));
            await(sd.execute(new BlockCommands.BlockdevDel("target")));
            assertThat(ItSupport.run(RequiredTool.QEMU_IMG, "compare", "-U", "-f", "raw", "-F", "qcow2",
                    vm.dir().resolve("disk.img").toString(), daemon.dir().resolve("target.qcow2").toString()))
                    .contains("identical");
        }
    }
}
