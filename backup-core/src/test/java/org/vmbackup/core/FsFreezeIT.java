package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.QmpEvent;
import org.vmbackup.qmp.agent.GuestAgentClient;
import org.vmbackup.qmp.agent.GuestFsFreezeStatus;
import org.vmbackup.testkit.QemuInstall;
import org.vmbackup.testkit.guest.GuestRecords;
import org.vmbackup.testkit.guest.GuestVm;
import org.vmbackup.testkit.guest.TinyGuest;

/**
 * Backups with {@link FsFreeze} of a real Linux guest (testkit's tiny guest: ext4 data disk, qemu-ga, a writer
 * appending checksummed records): the quiesced archive's file system needs no journal recovery, and after every
 * failure path the guest is thawed and writing. One boot for the whole class (TCG boots take seconds to tens of
 * seconds on a loaded machine); each test leaves the guest running, thawed and the VM clean for the next.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class FsFreezeIT {
    private static final Logger log = LoggerFactory.getLogger(FsFreezeIT.class);
    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Duration WAIT = Duration.ofMinutes(2);

    private static TinyGuest guest;
    private static GuestVm vm;
    private static QmpClient qmp;
    private static final List<QmpEvent> events = new CopyOnWriteArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    static void boot() throws Exception {
        guest = TinyGuest.build();
        vm = GuestVm.builder(guest).start();
        vm.console().awaitRecord(3, BOOT);
        qmp = QmpClient.connect(vm.qemu().qmpSocket()).get(1, TimeUnit.MINUTES);
        qmp.addListener(events::add);
        // the agent answers once qemu-ga runs (it starts before the writer, but make sure)
        assertThat(status()).isEqualTo(GuestFsFreezeStatus.THAWED);
    }

    @AfterAll
    static void shutdown() {
        if (qmp != null) {
            qmp.close();
        }
        if (vm != null) {
            vm.close();
        }
    }

    /** The agent's freeze status, through a connection of its own (the chardev takes one client at a time). */
    private static GuestFsFreezeStatus status() throws Exception {
        try (GuestAgentClient qga = GuestAgentClient.builder(vm.qgaSocket()).connectTimeout(WAIT)
                .timeout(Duration.ofSeconds(60)).connect().get(3, TimeUnit.MINUTES)) {
            return qga.freezeStatus().get(2, TimeUnit.MINUTES);
        }
    }

    /** After any backup: the guest runs, is thawed, writes again, and QEMU holds nothing of the session. */
    private static void assertGuestThawedAndWriting() throws Exception {
        assertThat(qmp.execute("query-status", null).get(30, TimeUnit.SECONDS).require("running").asBoolean())
                .as("the guest runs").isTrue();
        assertThat(status()).as("guest-fsfreeze-status after the backup").isEqualTo(GuestFsFreezeStatus.THAWED);
        long record = vm.console().lastRecord().orElseThrow();
        vm.console().awaitRecord(record + 3, WAIT);
        assertThat(qmp.execute("query-jobs", null).get(30, TimeUnit.SECONDS).elements()).isEmpty();
        assertThat(qmp.execute("query-named-block-nodes", null).get(30, TimeUnit.SECONDS).toJson())
                .doesNotContain("vmbk-");
    }

    private BackupSession.Builder session() {
        return BackupSession.builder().qmp(qmp).fsFreeze(FsFreeze.REQUIRED);
    }

    private static BackupException failure(CompletableFuture<BackupResult> f) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> f.get(4, TimeUnit.MINUTES));
        assertThat(e.getCause()).isInstanceOf(BackupException.class);
        log.info("session failed as expected: {}", e.getCause().getMessage());
        return (BackupException) e.getCause();
    }

    private static Path rawImage(Path archiveDir) throws IOException {
        try (var s = Files.list(archiveDir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("disk-")).findFirst().orElseThrow();
        }
    }

    private static long stops() {
        return events.stream().filter(e -> e instanceof QmpEvent.Stop).count();
    }

    @Test
    @Order(1)
    void aRequiredFreezeGivesAQuiescedArchiveWithoutJournalRecoveryAndThawsRightAfterThePause() throws Exception {
        for (boolean vmstate : new boolean[] {true, false}) {
            long recordBefore = vm.console().lastRecord().orElseThrow();
            Path archive = tmp.resolve(vmstate ? "with-ram" : "disks-only");
            BackupResult r = session().includeVmstate(vmstate).target(archive).build().start()
                    .get(4, TimeUnit.MINUTES);
            FsFreezeResult f = r.fsFreeze();
            log.info("{}: {} fs-freeze backup: file systems frozen {} ms, guest pause {} ms, backup {} ms",
                    QemuInstall.current(), vmstate ? "full" : "disks-only", f.window().toMillis(),
                    r.guestPause().toMillis(), r.duration().toMillis());
            assertThat(f.mode()).isEqualTo(FsFreeze.REQUIRED);
            assertThat(f.quiesced()).as(f.note()).isTrue();
            assertThat(f.frozenFileSystems()).as("the ext4 data disk").isEqualTo(1);
            assertThat(f.window()).isPositive();
            assertThat(f.thawFailed()).isFalse();
            if (vmstate) {
                assertThat(r.guestPause()).isPositive();
                // frozen before the pause, thawed after it: the window covers the pause
                assertThat(f.window()).isGreaterThanOrEqualTo(r.guestPause());
            }
            // thawed before the copy: the window is a fraction of the backup
            assertThat(f.window()).isLessThan(r.duration());
            assertGuestThawedAndWriting();

            Path image = rawImage(archive);
            GuestRecords.Fsck fsck = GuestRecords.fsck(guest, image);
            assertThat(fsck.clean()).as("e2fsck -fn of the archived disk: %s", fsck.output()).isTrue();
            assertThat(fsck.needsRecovery()).as("a frozen file system has its journal flushed: %s", fsck.output())
                    .isFalse();
            GuestRecords records = GuestRecords.read(guest, image);
            assertThat(records.intact()).as("records %s", records).isTrue();
            assertThat(records.last()).isGreaterThanOrEqualTo(recordBefore);
        }
    }

    @Test
    @Order(2)
    void aRefusedTransactionLeavesTheGuestThawedAndRunning() throws Exception {
        // a mirror job on the data disk makes QEMU refuse the backup transaction ("in use by block job")
        qmp.execute("blockdev-add", org.vmbackup.qmp.JsonObject.builder().put("driver", "null-co")
                .put("node-name", "blocker-t").put("size", 64L << 20).build()).get(30, TimeUnit.SECONDS);
        qmp.execute("blockdev-mirror", org.vmbackup.qmp.JsonObject.builder().put("job-id", "blocker")
                .put("device", GuestVm.DATA_NODE).put("target", "blocker-t").put("sync", "full").put("speed", 1L)
                .build()).get(30, TimeUnit.SECONDS);
        try {
            BackupException e = failure(session().target(tmp.resolve("a.vma")).build().start());
            assertThat(e).hasMessageContaining("in use by block job");
        } finally {
            qmp.execute("block-job-cancel", org.vmbackup.qmp.JsonObject.builder().put("device", "blocker")
                    .put("force", true).build()).get(30, TimeUnit.SECONDS);
            for (int i = 0; i < 500 && !qmp.execute("query-jobs", null).get(30, TimeUnit.SECONDS).elements()
                    .isEmpty(); i++) {
                Thread.sleep(20);
                qmp.execute("job-dismiss", org.vmbackup.qmp.JsonObject.builder().put("id", "blocker").build())
                        .exceptionally(x -> null).get(30, TimeUnit.SECONDS);
            }
            qmp.execute("blockdev-del", org.vmbackup.qmp.JsonObject.builder().put("node-name", "blocker-t").build())
                    .get(30, TimeUnit.SECONDS);
        }
        assertGuestThawedAndWriting();
    }

    /** A session that does {@code act} (on the session thread) when it enters the critical section. */
    private CompletableFuture<BackupResult> withAtCriticalSection(BackupSession.Builder b, String archive,
            Consumer<AtomicReference<BackupSession>> act) {
        AtomicReference<BackupSession> session = new AtomicReference<>();
        AtomicBoolean fired = new AtomicBoolean();
        session.set(b.target(tmp.resolve(archive)).progress(p -> {
            if (p.phase() == BackupPhase.CRITICAL_SECTION && fired.compareAndSet(false, true)) {
                act.accept(session);
            }
        }).build());
        return session.get().start();
    }

    @Test
    @Order(3)
    void cancelInterruptAndAFreezeOutlivingItsBoundAllEndThawed() throws Exception {
        // cancelled just before the freeze: the freeze happens, the session notices the cancel, thaws
        assertThat(failure(withAtCriticalSection(session(), "c.vma", s -> s.get().cancel())))
                .hasMessageContaining("cancelled");
        assertGuestThawedAndWriting();
        // the session thread interrupted: its cleanup still resumes and thaws the guest
        assertThat(failure(withAtCriticalSection(session(), "i.vma", s -> Thread.currentThread().interrupt())))
                .hasMessageContaining("interrupted");
        assertGuestThawedAndWriting();
        // a bound shorter than any freeze: the guest freezes, the watchdog thaws it, and a required freeze that
        // did not hold until the instant fails the backup
        assertThat(failure(session().freezeTimeout(Duration.ofMillis(1)).target(tmp.resolve("w.vma")).build()
                .start())).hasMessageContaining("watchdog");
        assertGuestThawedAndWriting();
    }

    @Test
    @Order(4)
    void anAbsentOrSilentAgentFailsARequiredFreezeBeforeTheGuestIsTouchedAndTryGoesOnCrashConsistent()
            throws Exception {
        long stopsBefore = stops();
        Path missing = tmp.resolve("no-agent.sock");
        BackupException e = failure(session().guestAgentSocket(missing).target(tmp.resolve("r.vma")).build()
                .start());
        assertThat(e).hasMessageStartingWith("cannot freeze the guest's file systems")
                .hasMessageContaining(missing.toString()).hasMessageNotContaining("\n");
        // silent: a socket that accepts and never answers
        Path silent = tmp.resolve("silent.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(silent));
            CompletableFuture<SocketChannel> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.accept();
                } catch (IOException x) {
                    return null;
                }
            });
            long t0 = System.nanoTime();
            e = failure(session().guestAgentSocket(silent).commandTimeout(Duration.ofSeconds(2))
                    .target(tmp.resolve("s.vma")).build().start());
            assertThat(e).hasMessageContaining("does not answer");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
            SocketChannel ch = accepted.getNow(null);
            if (ch != null) {
                ch.close();
            }
        }
        assertThat(stops()).as("the guest was never paused").isEqualTo(stopsBefore);
        assertThat(tmp.resolve("r.vma")).doesNotExist();
        assertGuestThawedAndWriting();

        BackupResult r = BackupSession.builder().qmp(qmp).fsFreeze(FsFreeze.TRY).guestAgentSocket(missing)
                .target(tmp.resolve("t")).build().start().get(4, TimeUnit.MINUTES);
        assertThat(r.fsFreeze().mode()).isEqualTo(FsFreeze.TRY);
        assertThat(r.fsFreeze().quiesced()).isFalse();
        assertThat(r.fsFreeze().note()).contains(missing.toString());
        assertThat(r.fsFreeze().window()).isZero();
        // the contrast that makes the quiesced check mean something: a mounted ext4 taken as is needs recovery
        GuestRecords.Fsck crash = GuestRecords.fsck(guest, rawImage(tmp.resolve("t")));
        assertThat(crash.needsRecovery()).as("crash-consistent copy: %s", crash.output()).isTrue();
        assertGuestThawedAndWriting();

        // a paused guest's agent cannot answer: said at once, and the guest stays paused
        qmp.execute("stop", null).get(30, TimeUnit.SECONDS);
        try {
            assertThat(failure(session().target(tmp.resolve("p.vma")).build().start()))
                    .hasMessageContaining("paused");
        } finally {
            qmp.execute("cont", null).get(30, TimeUnit.SECONDS);
        }
        assertGuestThawedAndWriting();
    }

    @Test
    @Order(5)
    void aVmWithoutAnAgentChannelIsToldApart() throws Exception {
        try (TestVm plain = TestVm.start(51, 64, 1 << 20)) {
            BackupException e = failure(BackupSession.builder().qmpSocket(plain.qmpSocket())
                    .fsFreeze(FsFreeze.REQUIRED).target(tmp.resolve("n.vma")).build().start());
            assertThat(e).hasMessageContaining("no guest agent channel").hasMessageContaining("org.qemu.guest_agent.0");
            BackupResult r = BackupSession.builder().qmpSocket(plain.qmpSocket()).fsFreeze(FsFreeze.TRY)
                    .target(tmp.resolve("n2.vma")).build().start().get(2, TimeUnit.MINUTES);
            assertThat(r.fsFreeze().quiesced()).isFalse();
            assertThat(r.fsFreeze().note()).contains("no guest agent channel");
            plain.assertClean();
        }
    }

    @Test
    @Order(6)
    void qemuDyingAtTheFreezeFailsTheBackupPromptlyWithNothingLeftToThaw() throws Exception {
        // last: the VM does not survive this one
        long t0 = System.nanoTime();
        BackupException e = failure(withAtCriticalSection(session(), "k.vma", s -> {
            vm.qemu().process().destroyForcibly();
            try {
                vm.qemu().process().waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
        }));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("no wait for a guest that is gone")
                .isLessThan(Duration.ofSeconds(30));
        assertThat(e.getMessage()).doesNotContain("MAY STILL BE FROZEN");
        assertThat(tmp.resolve("k.vma")).doesNotExist();
    }
}
