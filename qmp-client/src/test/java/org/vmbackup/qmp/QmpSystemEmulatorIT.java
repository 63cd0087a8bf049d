package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.qmp.ItSupport.await;

import io.netty.channel.unix.FileDescriptor;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.BlockdevOptions;
import org.vmbackup.qmp.command.DirtyBitmapCommands;
import org.vmbackup.qmp.command.FdCommands;
import org.vmbackup.qmp.command.JobCommands;
import org.vmbackup.qmp.command.MachineCommands;
import org.vmbackup.qmp.command.MigrationCommands;
import org.vmbackup.qmp.command.MigrationCommands.Capability;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.command.TransactionCommands;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RequiredTool;

/** Every typed command that can run on an idle qemu-system-x86_64, against the real QEMU (7.2 and 10.0 in CI). */
class QmpSystemEmulatorIT {
    private static final Duration T = Duration.ofSeconds(30);

    private static void addRawNode(QmpClient qmp, String name, Path image) throws Exception {
        await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Raw(name,
                BlockdevOptions.Ref.of(new BlockdevOptions.File(name + "-file", image.toString())), null))));
    }

    @Test
    void queriesDecode() throws Exception {
        try (QemuProcess vm = QemuProcess.system().memoryMiB(128).start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("d.img"), "2M", -1);
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()))) {
            QmpVersion v = await(qmp.execute(new QueryCommands.QueryVersion()));
            assertThat(v).isEqualTo(qmp.greeting().version());
            assertThat(v.atLeast(7, 2)).isTrue();
            var status = await(qmp.execute(new QueryCommands.QueryStatus()));
            assertThat(status.running()).isTrue();
            assertThat(status.status()).isEqualTo("running");
            assertThat(await(qmp.execute(new QueryCommands.QueryBlock()))).isEmpty();
            assertThat(await(qmp.execute(new QueryCommands.QueryNamedBlockNodes(true)))).isEmpty();
            addRawNode(qmp, "d", vm.dir().resolve("d.img"));
            await(qmp.execute("device_add", JsonObject.builder().put("driver", "virtio-blk-pci").put("drive", "d")
                    .put("id", "vd0").build()));
            var block = await(qmp.execute(new QueryCommands.QueryBlock()));
            assertThat(block).singleElement().satisfies(b -> {
                assertThat(b.qdev()).contains("vd0");
                assertThat(b.inserted().nodeName()).isEqualTo("d");
                assertThat(b.inserted().driver()).isEqualTo("raw");
                assertThat(b.inserted().virtualSize()).isEqualTo(2L << 20);
            });
            assertThat(await(qmp.execute(new QueryCommands.QueryJobs()))).isEmpty();
            assertThat(await(qmp.execute(new QueryCommands.QueryBlockJobs()))).isEmpty();
            var migration = await(qmp.execute(new QueryCommands.QueryMigrate()));
            assertThat(migration.status()).isNull();
            var caps = await(qmp.execute(new QueryCommands.QueryMigrateCapabilities()));
            assertThat(caps).extracting(Capability::capability).contains("events", "background-snapshot");
            var mem = await(qmp.execute(new QueryCommands.QueryMemorySizeSummary()));
            assertThat(mem.baseMemory()).isEqualTo(128L << 20);
            String hmp = await(qmp.execute(new MachineCommands.HumanMonitorCommand("info version")));
            assertThat(hmp).startsWith(v.toString());
            Json schema = await(qmp.execute(new QueryCommands.QueryQmpSchema()));
            assertThat(schema.elements()).hasSizeGreaterThan(1000);
        }
    }

    @Test
    void runControlMigrationSettingsAndFdCommands() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start();
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription events = qmp.subscribe()) {
            await(qmp.execute(new MachineCommands.Stop()));
            var stop = await(events.await(e -> e instanceof QmpEvent.Stop, T));
            assertThat(await(qmp.execute(new QueryCommands.QueryStatus())).status()).isEqualTo("paused");
            await(qmp.execute(new MachineCommands.Cont()));
            var resume = await(events.await(e -> e instanceof QmpEvent.Resume, T));
            assertThat(resume.timestamp()).isAfterOrEqualTo(stop.timestamp());

            await(qmp.execute(MigrationCommands.MigrateSetCapabilities.of(new Capability("events", true))));
            assertThat(await(qmp.execute(new QueryCommands.QueryMigrateCapabilities())))
                    .contains(new Capability("events", true));
            await(qmp.execute(new MigrationCommands.MigrateSetParameters(1L << 30, 500L, null)));
            Json params = await(qmp.execute("query-migrate-parameters", null));
            assertThat(params.get("max-bandwidth").asLong()).isEqualTo(1L << 30);
            assertThat(params.get("downtime-limit").asLong()).isEqualTo(500);
            await(qmp.execute(new MigrationCommands.MigrateCancel()));

            Path mem = vm.dir().resolve("mem.bin");
            await(qmp.execute(new MachineCommands.Pmemsave(0, 4096, mem.toString())));
            assertThat(Files.size(mem)).isEqualTo(4096);

            FileDescriptor[] pipe = FileDescriptor.pipe();
            try {
                await(qmp.getfd("spare", pipe[1]));
                await(qmp.execute(new FdCommands.Closefd("spare")));
                var e = assertThrows(qmp.execute(new FdCommands.Closefd("spare")));
                assertThat(e.errorClass()).isEqualTo(QmpErrorClass.GenericError);
                var info = await(qmp.addFd(pipe[1].intValue(), null, "test"));
                Json fdsets = await(qmp.execute(new FdCommands.QueryFdsets()));
                assertThat(fdsets.toJson()).contains("\"opaque\":\"test\"");
                await(qmp.execute(new FdCommands.RemoveFd(info.fdsetId(), info.fd())));
            } finally {
                pipe[0].close();
                pipe[1].close();
            }
            // Executing getfd without attaching a descriptor is QEMU's error, with its class kept.
            var noFd = assertThrows(qmp.execute(new FdCommands.Getfd("none")));
            assertThat(noFd.description()).contains("SCM_RIGHTS");

            await(qmp.execute(new MachineCommands.Quit()));
            var shutdown = (QmpEvent.Shutdown) await(events.await(e -> e instanceof QmpEvent.Shutdown, T));
            assertThat(shutdown.guest()).isFalse();
            assertThat(shutdown.reason()).isEqualTo("host-qmp-quit");
            await(qmp.closeFuture());
            assertThat(qmp.isOpen()).isFalse();
        }
    }

    @Test
    void getfdThenMigrateToThatFdStreamsTheVmState() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start();
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription migration = qmp.subscribe(e -> e instanceof QmpEvent.Migration);
                QmpEventSubscription passes = qmp.subscribe(e -> e instanceof QmpEvent.MigrationPass)) {
            assertThat(qmp.canPassFds()).isTrue();
            await(qmp.execute(MigrationCommands.MigrateSetCapabilities.of(new Capability("events", true))));
            FileDescriptor[] pipe = FileDescriptor.pipe();
            PipeReader reader = new PipeReader(pipe[0]);
            try {
                await(qmp.getfd("vmstate", pipe[1]));
                pipe[1].close();
                reader.start();
                await(qmp.execute(new MigrationCommands.Migrate("fd:vmstate")));
                var setup = (QmpEvent.Migration) await(migration.next());
                assertThat(setup.status()).isEqualTo("setup");
                var end = (QmpEvent.Migration) await(migration.await(e -> {
                    String st = ((QmpEvent.Migration) e).status();
                    return st.equals("completed") || st.equals("failed");
                }, T));
                assertThat(end.status()).isEqualTo("completed");
                assertThat(((QmpEvent.MigrationPass) passes.poll().orElseThrow()).pass()).isEqualTo(1);
                reader.join(T.toMillis());
                assertThat(reader.eof).isTrue();
                assertThat(new String(reader.head, 0, 4, java.nio.charset.StandardCharsets.US_ASCII))
                        .isEqualTo("QEVM");
                var info = await(qmp.execute(new QueryCommands.QueryMigrate()));
                assertThat(info.status()).isEqualTo("completed");
                // 7.2 counts RAM pages alone as transferred, 10.0 every byte of the stream
                assertThat(reader.total).isGreaterThanOrEqualTo(info.ramTransferred()).isGreaterThan(100_000);
                assertThat(await(qmp.execute(new QueryCommands.QueryStatus())).status()).isEqualTo("postmigrate");
            } finally {
                reader.interrupt();
                reader.join(T.toMillis());
                pipe[0].close();
            }
        }
    }

    /** Drains the read end of a non-blocking pipe until EOF, keeping the first bytes and the total count. */
    private static final class PipeReader extends Thread {
        private final FileDescriptor fd;
        final byte[] head = new byte[16];
        volatile long total;
        volatile boolean eof;

        PipeReader(FileDescriptor fd) {
            super("pipe-reader");
            this.fd = fd;
            setDaemon(true);
        }

        @Override
        public void run() {
            ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
            try {
                while (!isInterrupted()) {
                    int r = fd.read(buf, 0, buf.capacity());
                    if (r < 0) {
                        eof = true;
                        return;
                    }
                    if (r == 0) {
                        Thread.sleep(2);
                        continue;
                    }
                    if (total < head.length) {
                        int n = (int) Math.min(r, head.length - total);
                        buf.get(0, head, (int) total, n);
                    }
                    total += r;
                }
            } catch (Exception e) {
                // interrupted or closed: the test's assertions report what was read
            }
        }
    }

    @Test
    void migrateThroughAPipeIntoAnIncomingQemuRestoresTheVm() throws Exception {
        try (QemuProcess src = QemuProcess.system().start();
                QemuProcess dst = QemuProcess.system().args("-incoming", "defer").start();
                QmpClient out = await(QmpClient.connect(src.qmpSocket()));
                QmpClient in = await(QmpClient.connect(dst.qmpSocket()));
                QmpEventSubscription inEvents = in.subscribe(e -> e instanceof QmpEvent.Migration)) {
            assertThat(await(in.execute(new QueryCommands.QueryStatus())).status()).isEqualTo("inmigrate");
            await(in.execute(MigrationCommands.MigrateSetCapabilities.of(new Capability("events", true))));
            FileDescriptor[] pipe = FileDescriptor.pipe();
            try {
                await(in.getfd("incoming", pipe[0]));
                await(out.getfd("outgoing", pipe[1]));
            } finally {
                pipe[0].close();
                pipe[1].close();
            }
            await(in.execute(new MigrationCommands.MigrateIncoming("fd:incoming")));
            await(out.execute(new MigrationCommands.Migrate("fd:outgoing")));
            var end = (QmpEvent.Migration) await(inEvents.await(e -> {
                String st = ((QmpEvent.Migration) e).status();
                return st.equals("completed") || st.equals("failed");
            }, T));
            assertThat(end.status()).isEqualTo("completed");
            assertThat(await(in.execute(new QueryCommands.QueryMigrate())).status()).isEqualTo("completed");
            // The source was running, so the destination runs once the stream is loaded.
            assertThat(await(in.execute(new QueryCommands.QueryStatus())).status()).isEqualTo("running");
        }
    }

    @Test
    void prettyPrintingMonitorIsFramedAsAStreamOfValues() throws Exception {
        try (QemuProcess vm = QemuProcess.system().args("-chardev",
                "socket,id=pretty,path={dir}/pretty.sock,server=on,wait=off", "-mon", "chardev=pretty,mode=control,pretty=on")
                .start();
                QmpClient qmp = await(QmpClient.connect(vm.dir().resolve("pretty.sock")))) {
            assertThat(qmp.greeting().version().atLeast(7, 2)).isTrue();
            assertThat(await(qmp.execute(new QueryCommands.QueryStatus())).running()).isTrue();
            assertThat(await(qmp.schema()).hasCommand("blockdev-backup")).isTrue();
        }
    }

    @Test
    void blockJobErrorAndDeviceDeletedAreTyped() throws Exception {
        try (QemuProcess vm = QemuProcess.system().args("-device", "qemu-xhci,id=xhci").start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("src.img"), "2M", 0x33);
                        ItSupport.rawImage(dir.resolve("bad.img"), "2M", -1);
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription events = qmp.subscribe()) {
            addRawNode(qmp, "src", vm.dir().resolve("src.img"));
            // blkdebug fails every write to the target with EIO.
            await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Generic("blkdebug", "bad",
                    Json.parse("{\"image\": {\"driver\": \"file\", \"filename\": \"" + vm.dir().resolve("bad.img")
                            + "\"}, \"inject-error\": [{\"event\": \"pwritev\", \"errno\": 5}]}").asObject()))));
            await(qmp.execute(BlockCommands.BlockdevBackup.builder("fail", "src", "bad", SyncMode.FULL)
                    .onError("report", "report").build()));
            var error = await(events.await(QmpEvent.BlockJobError.class, e -> e.device().equals("fail"), T));
            assertThat(error.operation()).isEqualTo("write");
            assertThat(error.action()).isEqualTo("report");
            var completed = await(events.await(QmpEvent.BlockJobCompleted.class, e -> e.device().equals("fail"), T));
            assertThat(completed.error()).isNotBlank();

            await(qmp.execute("device_add", JsonObject.builder().put("driver", "usb-tablet").put("id", "tab").build()));
            await(qmp.execute("device_del", JsonObject.builder().put("id", "tab").build()));
            var deleted = await(events.await(QmpEvent.DeviceDeleted.class, e -> "tab".equals(e.device()), T));
            assertThat(deleted.path()).contains("tab");
        }
    }

    @Test
    void blockdevBackupToAFileShowsTheRealJobStatusSequence() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("src.img"), "4M", 0xab);
                        ItSupport.rawImage(dir.resolve("dst.img"), "4M", -1);
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()))) {
            addRawNode(qmp, "src", vm.dir().resolve("src.img"));
            addRawNode(qmp, "dst", vm.dir().resolve("dst.img"));
            List<QmpJobStatus> seen = new ArrayList<>();
            try (QmpEventSubscription job = qmp.subscribe(e -> e instanceof QmpEvent.JobStatusChange j
                    && j.id().equals("bk")); QmpEventSubscription completed = qmp.subscribe(
                            e -> e instanceof QmpEvent.BlockJobCompleted)) {
                await(qmp.execute(BlockCommands.BlockdevBackup.builder("bk", "src", "dst", SyncMode.FULL)
                        .autoFinalize(true).autoDismiss(false).speed(0).filterNodeName("bk-cbw").build()));
                QmpJobStatus s;
                do {
                    s = ((QmpEvent.JobStatusChange) await(job.next())).status();
                    seen.add(s);
                } while (s != QmpJobStatus.CONCLUDED);
                var done = (QmpEvent.BlockJobCompleted) await(completed.next());
                assertThat(done.device()).isEqualTo("bk");
                assertThat(done.error()).isNull();
                assertThat(done.offset()).isEqualTo(done.len()).isEqualTo(4L << 20);
                var jobs = await(qmp.execute(new QueryCommands.QueryJobs()));
                assertThat(jobs).singleElement().satisfies(j -> {
                    assertThat(j.status()).isEqualTo(QmpJobStatus.CONCLUDED);
                    assertThat(j.error()).isNull();
                });
                await(qmp.execute(new JobCommands.JobDismiss("bk")));
                seen.add(((QmpEvent.JobStatusChange) await(job.next())).status());
            }
            // The real QEMU 7.2 sequence for a successful backup with auto-finalize=true, auto-dismiss=false.
            // 7.2 pauses the fresh job once while blockdev-backup's drained section ends (paused, running);
            // whether the job had started by then is timing, so both forms are the real sequence.
            List<QmpJobStatus> withDrainPause = List.of(QmpJobStatus.CREATED, QmpJobStatus.RUNNING,
                    QmpJobStatus.PAUSED, QmpJobStatus.RUNNING, QmpJobStatus.WAITING, QmpJobStatus.PENDING,
                    QmpJobStatus.CONCLUDED, QmpJobStatus.NULL);
            List<QmpJobStatus> plain = List.of(QmpJobStatus.CREATED, QmpJobStatus.RUNNING, QmpJobStatus.WAITING,
                    QmpJobStatus.PENDING, QmpJobStatus.CONCLUDED, QmpJobStatus.NULL);
            assertThat(seen).isIn(withDrainPause, plain);
            await(qmp.execute(new BlockCommands.BlockdevDel("dst")));
            assertThat(Files.readAllBytes(vm.dir().resolve("dst.img")))
                    .isEqualTo(Files.readAllBytes(vm.dir().resolve("src.img")));
        }
    }

    @Test
    void transactionBitmapsJobsMirrorAndStream() throws Exception {
        try (QemuProcess vm = QemuProcess.system().start(dir -> {
                    try {
                        ItSupport.rawImage(dir.resolve("a.img"), "4M", 0x11);
                        ItSupport.rawImage(dir.resolve("b.img"), "4M", -1);
                        ItSupport.rawImage(dir.resolve("c.img"), "4M", -1);
                        ItSupport.rawImage(dir.resolve("m.img"), "4M", -1);
                        ItSupport.run(RequiredTool.QEMU_IMG, "create", "-q", "-f", "qcow2", "-b",
                                dir.resolve("a.img").toString(), "-F", "raw", dir.resolve("top.qcow2").toString());
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                });
                QmpClient qmp = await(QmpClient.connect(vm.qmpSocket()));
                QmpEventSubscription events = qmp.subscribe()) {
            addRawNode(qmp, "a", vm.dir().resolve("a.img"));
            addRawNode(qmp, "b", vm.dir().resolve("b.img"));
            addRawNode(qmp, "c", vm.dir().resolve("c.img"));
            addRawNode(qmp, "m", vm.dir().resolve("m.img"));

            // Bitmaps on their own (grouped mode is for backup actions only in 7.2).
            await(qmp.execute(new DirtyBitmapCommands.Add("a", "b0")));
            await(qmp.execute(new DirtyBitmapCommands.Add("a", "b1", 65536L, false, true)));
            await(qmp.execute(new DirtyBitmapCommands.Enable("a", "b1")));
            await(qmp.execute(new DirtyBitmapCommands.Disable("a", "b1")));
            await(qmp.execute(new DirtyBitmapCommands.Merge("a", "b1",
                    List.of(DirtyBitmapCommands.BitmapRef.named("b0"), new DirtyBitmapCommands.BitmapRef("a", "b0")))));
            await(qmp.execute(new DirtyBitmapCommands.Clear("a", "b1")));
            var nodes = await(qmp.execute(new QueryCommands.QueryNamedBlockNodes(true)));
            assertThat(nodes).filteredOn(n -> "a".equals(n.nodeName())).singleElement()
                    .satisfies(n -> assertThat(n.dirtyBitmaps()).extracting(QueryCommands.DirtyBitmapInfo::name)
                            .containsExactlyInAnyOrder("b0", "b1"));
            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    new DirtyBitmapCommands.Remove("a", "b0"), new DirtyBitmapCommands.Remove("a", "b1"),
                    new DirtyBitmapCommands.Add("a", "anchor")))));

            // A grouped backup transaction with auto-finalize off: pending until job-finalize.
            await(qmp.execute(new TransactionCommands.Transaction(List.of(
                    BlockCommands.BlockdevBackup.builder("t1", "a", "b", SyncMode.FULL).autoFinalize(false)
                            .autoDismiss(false).build()), TransactionCommands.CompletionMode.GROUPED)));
            await(events.await(QmpEvent.BlockJobPending.class, e -> e.id().equals("t1"), T));
            await(qmp.execute(new JobCommands.JobFinalize("t1")));
            await(events.await(QmpEvent.JobStatusChange.class,
                    e -> e.id().equals("t1") && e.status() == QmpJobStatus.CONCLUDED, T));
            await(qmp.execute(new JobCommands.JobDismiss("t1")));

            // A throttled backup, re-throttled, then cancelled.
            await(qmp.execute(BlockCommands.BlockdevBackup.builder("slow", "a", "c", SyncMode.FULL).speed(1)
                    .build()));
            await(qmp.execute(new BlockCommands.BlockJobSetSpeed("slow", 2)));
            assertThat(await(qmp.execute(new QueryCommands.QueryBlockJobs()))).singleElement()
                    .satisfies(j -> assertThat(j.speed()).isEqualTo(2));
            await(qmp.execute(new JobCommands.JobCancel("slow")));
            var cancelled = await(events.await(QmpEvent.BlockJobCancelled.class, e -> e.device().equals("slow"), T));
            assertThat(cancelled.type()).isEqualTo("backup");

            // A mirror: ready, then complete.
            await(qmp.execute(new BlockCommands.BlockdevMirror("mir", "a", "m", SyncMode.FULL)));
            var ready = await(events.await(QmpEvent.BlockJobReady.class, e -> e.device().equals("mir"), T));
            assertThat(ready.type()).isEqualTo("mirror");
            await(qmp.execute(new JobCommands.JobComplete("mir")));
            await(events.await(QmpEvent.BlockJobCompleted.class, e -> e.device().equals("mir"), T));

            // A stream from a raw base into a qcow2 overlay.
            await(qmp.execute(new BlockCommands.BlockdevAdd(new BlockdevOptions.Qcow2("top",
                    BlockdevOptions.Ref.of(new BlockdevOptions.File("top-file",
                            vm.dir().resolve("top.qcow2").toString())), BlockdevOptions.Ref.node("a"), false, null))));
            await(qmp.execute(new BlockCommands.BlockStream("st", "top", null, null, null, null)));
            var streamed = await(events.await(QmpEvent.BlockJobCompleted.class, e -> e.device().equals("st"), T));
            assertThat(streamed.type()).isEqualTo("stream");
            assertThat(streamed.error()).isNull();
            await(qmp.execute(new BlockCommands.BlockdevDel("top")));
            // A full stream pulls all data up and drops the backing file.
            assertThat(ItSupport.run(RequiredTool.QEMU_IMG, "info", "-U", vm.dir().resolve("top.qcow2").toString()))
                    .doesNotContain("backing file");
            assertThat(ItSupport.run(RequiredTool.QEMU_IMG, "compare", "-U", vm.dir().resolve("top.qcow2").toString(),
                    vm.dir().resolve("a.img").toString())).contains("identical");
        }
    }

    private static QmpErrorException assertThrows(java.util.concurrent.CompletableFuture<?> f) {
        try {
            f.get(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(QmpErrorException.class);
            return (QmpErrorException) e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a QMP error");
    }
}
