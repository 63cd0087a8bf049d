package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonArray;
import org.vmbackup.qmp.JsonObject;
import org.vmbackup.qmp.QmpClient;
import org.vmbackup.qmp.agent.GuestAgentClient;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuInstall;
import org.vmbackup.testkit.guest.Ext4Superblock;
import org.vmbackup.testkit.guest.GuestConsole;
import org.vmbackup.testkit.guest.GuestRecords;
import org.vmbackup.testkit.guest.GuestVm;
import org.vmbackup.testkit.guest.TinyGuest;

/**
 * What a backup of a real running Linux guest is worth (testkit's tiny guest: a kernel, ext4 on the data disk,
 * qemu-ga, a console counter and a writer appending checksummed, fsync'ed records), issue 18's proofs 1 to 3:
 * <ol>
 *   <li>crash- and application-consistent archives: the restored data disk checks clean (a quiesced one without
 *       journal recovery, a crash-consistent one after it) and holds every record up to the backup instant, none
 *       torn;</li>
 *   <li>a full-state restore continues the guest at the instant: the counter goes on from there, no boot, and the
 *       writer's later records follow the archived ones;</li>
 *   <li>a live restore's guest reads and checks its records while the background copy still runs.</li>
 * </ol>
 * One boot of the source for the class (TCG boots take tens of seconds on a loaded machine); the tests run in order,
 * the later ones restoring the archives the first one made.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealGuestProofsIT {
    private static final Logger log = LoggerFactory.getLogger(RealGuestProofsIT.class);
    private static final Duration BOOT = Duration.ofMinutes(3);
    private static final Duration WAIT = Duration.ofMinutes(1);

    @TempDir
    static Path tmp;

    private static TinyGuest guest;
    private static GuestVm vm;
    private static QmpClient qmp;
    /** The crash-consistent full-state archive (no freeze) and what the guest showed around its instant. */
    private static Path crashArchive;
    private static Instant crashInstant;
    /** The last record in the crash archive's data disk, after journal replay. */
    private static long crashLastRecord;
    private static Path frozenArchive;

    /**
     * The guest's console around a backup's instant (taken inside the critical section, guest paused).
     *
     * @param tickBefore the last counter value printed when the critical section began (the instant is later)
     * @param recordBefore the last record announced synced then
     * @param tickAfter the last counter value printed when the copy began (the instant is earlier)
     */
    private record Instant(long tickBefore, long recordBefore, long tickAfter) {
    }

    @BeforeAll
    static void boot() throws Exception {
        guest = TinyGuest.build();
        vm = GuestVm.builder(guest).start();
        // enough records that the file spans more than a block or two of the disk
        vm.console().awaitRecord(25, BOOT);
        qmp = QmpClient.connect(vm.qemu().qmpSocket()).get(1, TimeUnit.MINUTES);
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

    @Test
    @Order(1)
    void crashAndFreezeConsistentArchivesRestoreToCleanFileSystemsWithEveryRecordUpToTheInstant() throws Exception {
        // Crash-consistent: the ext4 journal is live in the copy; replayed on a copy, the file system is clean.
        crashArchive = tmp.resolve("crash.vma");
        crashInstant = backup(crashArchive, FsFreeze.OFF);
        Path crashDisk = restoreDataDisk(crashArchive, tmp.resolve("crash-restored"));
        assertThat(Ext4Superblock.needsRecovery(crashDisk)).as("a mounted ext4 taken as is has a journal to replay")
                .isTrue();
        log.info("crash-consistent copy before journal replay, e2fsck -fn: {}", GuestRecords.fsck(guest, crashDisk));
        Path replayed = tmp.resolve("crash-replayed.raw");
        Files.copy(crashDisk, replayed, StandardCopyOption.REPLACE_EXISTING);
        ProcessResult repair = ProcessRunner.command(guest.e2fsprogs("e2fsck", "-fy", replayed.toString()))
                .timeout(Duration.ofMinutes(2)).mergeStderr().run();
        // 0: clean, 1: errors corrected (replaying the journal counts): anything else is damage
        assertThat(repair.exitCode()).as("e2fsck -fy (journal replay) of the copy: %s", repair.output())
                .isIn(0, 1);
        assertCleanWithRecordsUpTo(replayed, crashInstant);
        crashLastRecord = GuestRecords.read(guest, replayed).last();

        // Quiesced through the agent: the journal was flushed and the file system marked clean before the instant.
        Path frozen = tmp.resolve("frozen.vma");
        frozenArchive = frozen;
        Instant frozenInstant = backup(frozen, FsFreeze.REQUIRED);
        Path frozenDisk = restoreDataDisk(frozen, tmp.resolve("frozen-restored"));
        assertThat(Ext4Superblock.needsRecovery(frozenDisk)).as("a frozen ext4 needs no journal recovery").isFalse();
        assertCleanWithRecordsUpTo(frozenDisk, frozenInstant);
    }

    @Test
    @Order(2)
    void aFullStateRestoreContinuesTheGuestAtTheInstantAndItsWriterAppendsToTheRestoredRecords() throws Exception {
        assertThat(crashArchive).as("made by the first test").isNotNull();
        try (RestoredGuest target = RestoredGuest.onBlankRaw(guest, Files.size(vm.dataDisk()))) {
            RestoreVmResult r = RestoreVmSession.builder().archive(crashArchive).qmpSocket(target.qemu().qmpSocket())
                    .workDirectory(tmp.resolve("restore-vm-work")).build().start().get(3, TimeUnit.MINUTES);
            assertThat(r.running()).isTrue();
            GuestConsole console = target.console();
            long firstTick = firstFull(console, "tick ");
            long firstRecord = firstFull(console, "rec ");
            log.info("{}: backup instant between ticks {} and {}, records {} in the archive; restored guest's first "
                    + "tick {}, first record {}", QemuInstall.current(), crashInstant.tickBefore(),
                    crashInstant.tickAfter(), crashLastRecord, firstTick, firstRecord);
            assertThat(console.lines()).as("no boot: the init script's messages come once, at boot")
                    .noneMatch(l -> l.startsWith("vmbackup-guest:") || l.contains("Linux version"));
            // the counter goes on from the instant: the next value, or the one being printed at the instant
            assertThat(firstTick).isBetween(crashInstant.tickBefore(), crashInstant.tickAfter() + 1);
            // the writer, restored mid-loop, announces the record it had written or the next one
            assertThat(firstRecord).isBetween(crashLastRecord, crashLastRecord + 1);
            assertTicksConsecutive(console.lines(), firstTick);

            long later = console.awaitRecord(firstRecord + 5, WAIT);
            // Quiesce the restored guest through its own (restored) agent, then stop it: its disk is final.
            try (GuestAgentClient qga = agent(target.qgaSocket())) {
                assertThat(qga.freeze().get(2, TimeUnit.MINUTES)).as("the restored data disk").isEqualTo(1);
            }
            // end QEMU, keeping its directory (close() would delete the disk); a frozen guest has nothing in flight
            target.qemu().process().destroyForcibly();
            assertThat(target.qemu().process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(Ext4Superblock.needsRecovery(target.rawDisk())).isFalse();
            GuestRecords.Fsck fsck = GuestRecords.fsck(guest, target.rawDisk());
            assertThat(fsck.clean()).as("e2fsck -fn of the restored guest's disk: %s", fsck.output()).isTrue();
            GuestRecords records = GuestRecords.read(guest, target.rawDisk());
            // one sequence from record 1: the restored guest's records follow the archived ones without a gap
            assertThat(records.intact()).as("records %s", records).isTrue();
            assertThat(records.last()).isGreaterThanOrEqualTo(later);
        }
    }

    @Test
    @Order(3)
    void aLiveRestoredGuestReadsAndChecksItsRecordsWhileTheCopyRuns() throws Exception {
        assertThat(crashArchive).as("made by the first test").isNotNull();
        List<RestoreProgress> progress = Collections.synchronizedList(new ArrayList<>());
        // slow enough that the guest's check ends long before the copy of the 64 MiB disk
        LiveRestorePlan plan = LiveRestoreSession.builder().archive(crashArchive).imageDirectory(tmp.resolve("live"))
                .bandwidthLimit(512 << 10).progress(progress::add).build().prepare().get(1, TimeUnit.MINUTES);
        try (RestoredGuest target = RestoredGuest.onDrives(guest, plan.driveArgs())) {
            LiveRestoreRun run = plan.start(target.qemu().qmpSocket()).get(3, TimeUnit.MINUTES);
            long firstTick = firstFull(target.console(), "tick ");
            assertThat(firstTick).isBetween(crashInstant.tickBefore(), crashInstant.tickAfter() + 1);
            String out;
            try (GuestAgentClient qga = agent(target.qgaSocket())) {
                // Drop the page cache so the guest reads its records from the disk, i.e. through the overlay
                // from the archive where the copy has not been yet; then check every complete record.
                out = guestExec(qga, "echo 3 > /proc/sys/vm/drop_caches && n=0 && bad=0 && "
                        + "while read r num sum; do n=$((n + 1)); s=$(echo \"$num\" | md5sum); "
                        + "[ \"$r\" = R ] && [ \"$num\" = $n ] && [ \"$sum\" = \"${s%% *}\" ] || bad=$((bad + 1)); "
                        + "done < /data/records && echo \"checked $n bad $bad\"");
            }
            boolean copying = !run.completion().isDone();
            RestoreProgress last = progress.isEmpty() ? null : progress.get(progress.size() - 1);
            log.info("{}: live-restored guest: '{}' after {} ms running; copy then at {}", QemuInstall.current(),
                    out.strip(), run.timeToRunning().toMillis(), last);
            assertThat(copying).as("the copy still ran when the guest had read its records").isTrue();
            assertThat(last == null || !last.finished()).isTrue();
            assertThat(out.strip()).matches("checked \\d+ bad 0");
            long checked = Long.parseLong(out.strip().split(" ")[1]);
            assertThat(checked).as("at least the archived records").isGreaterThanOrEqualTo(crashLastRecord);

            run.setRateLimit(0).get(30, TimeUnit.SECONDS);
            LiveRestoreResult done = run.completion().get(3, TimeUnit.MINUTES);
            log.info("live restore: copy done after {} ms", done.duration().toMillis());
            long record = target.console().lastRecord().orElseThrow();
            target.console().awaitRecord(record + 2, WAIT);
        } finally {
            plan.close().get(1, TimeUnit.MINUTES);
        }
    }

    /**
     * A quiesced backup with the VM state captures the RAM of a guest whose file systems are frozen (the freeze
     * spans the instant): restored as is, the guest resumes frozen, its writes blocked until someone thaws it
     * (seen on QEMU 7.2: guest-fsfreeze-status FROZEN, no record for 30 ticks, the next append took 3.6 s, after a
     * thaw the writer went on). The archive's vm.json says the guest was saved frozen, and the restore thaws it
     * through its agent once it runs (RestoredGuestThaw): the writer goes on and the agent says thawed.
     */
    @Test
    @Order(4)
    void aFullStateRestoreOfAQuiescedBackupResumesAGuestThatWrites() throws Exception {
        assertThat(frozenArchive).as("made by the first test").isNotNull();
        try (RestoredGuest target = RestoredGuest.onBlankRaw(guest, Files.size(vm.dataDisk()))) {
            RestoreVmSession.builder().archive(frozenArchive).qmpSocket(target.qemu().qmpSocket())
                    .workDirectory(tmp.resolve("restore-frozen-work")).build().start().get(3, TimeUnit.MINUTES);
            long record = firstFull(target.console(), "rec ");
            target.console().awaitRecord(record + 3, WAIT);
            try (GuestAgentClient qga = agent(target.qgaSocket())) {
                assertThat(qga.freezeStatus().get(1, TimeUnit.MINUTES))
                        .isEqualTo(org.vmbackup.qmp.agent.GuestFsFreezeStatus.THAWED);
            }
        }
    }

    /**
     * Proof 2 from the chunk store: the running guest backed up into a store snapshot, restored with its RAM into a
     * new QEMU, goes on counting from the instant (no boot) and its writer goes on appending records.
     */
    @Test
    @Order(5)
    void aFullStateRestoreFromTheChunkStoreContinuesTheGuestAtTheInstant() throws Exception {
        try (org.vmbackup.store.ChunkStore store = org.vmbackup.store.ChunkStore.init(tmp.resolve("store"),
                org.vmbackup.store.StoreOptions.defaults())) {
            StoreTarget target = ArchiveTarget.store(store, "guest");
            Instant instant = backup(target, FsFreeze.OFF);
            try (RestoredGuest restored = RestoredGuest.onBlankRaw(guest, Files.size(vm.dataDisk()))) {
                RestoreVmResult r = RestoreVmSession.builder()
                        .archive(ArchiveSource.snapshot(store, target.committed().orElseThrow().id()))
                        .qmpSocket(restored.qemu().qmpSocket()).workDirectory(tmp.resolve("store-restore-work"))
                        .build().start().get(3, TimeUnit.MINUTES);
                assertThat(r.running()).isTrue();
                GuestConsole console = restored.console();
                long firstTick = firstFull(console, "tick ");
                long firstRecord = firstFull(console, "rec ");
                assertThat(console.lines()).as("no boot")
                        .noneMatch(l -> l.startsWith("vmbackup-guest:") || l.contains("Linux version"));
                assertThat(firstTick).isBetween(instant.tickBefore(), instant.tickAfter() + 1);
                assertThat(firstRecord).isGreaterThanOrEqualTo(instant.recordBefore());
                assertTicksConsecutive(console.lines(), firstTick);
                assertThat(console.awaitRecord(firstRecord + 3, WAIT)).isGreaterThanOrEqualTo(firstRecord + 3);
            }
        }
    }

    /** Backs up the running guest (disks and RAM) into a VMA file, noting the console around the instant. */
    private static Instant backup(Path archive, FsFreeze freeze) throws Exception {
        return backup(ArchiveTarget.of(archive), freeze);
    }

    /** Backs up the running guest (disks and RAM) into {@code archive}, noting the console around the instant. */
    private static Instant backup(ArchiveTarget archive, FsFreeze freeze) throws Exception {
        AtomicLong tickBefore = new AtomicLong(-1);
        AtomicLong recordBefore = new AtomicLong(-1);
        AtomicLong tickAfter = new AtomicLong(-1);
        BackupResult r = BackupSession.builder().qmp(qmp).fsFreeze(freeze).target(archive).progress(p -> {
            if (p.phase() == BackupPhase.CRITICAL_SECTION && tickBefore.get() < 0) {
                recordBefore.set(vm.console().lastRecord().orElseThrow());
                tickBefore.set(vm.console().lastTick().orElseThrow());
            } else if (p.phase() == BackupPhase.COPYING && tickAfter.get() < 0) {
                tickAfter.set(vm.console().lastTick().orElseThrow());
            }
        }).build().start().get(4, TimeUnit.MINUTES);
        log.info("{}: backup ({}) in {} ms, guest paused {} ms, freeze {}", QemuInstall.current(), freeze,
                r.duration().toMillis(), r.guestPause().toMillis(), r.fsFreeze());
        assertThat(r.vmstateIncluded()).isTrue();
        assertThat(tickBefore.get()).as("the critical section was seen").isPositive();
        assertThat(tickAfter.get()).as("the copy phase was seen").isGreaterThanOrEqualTo(tickBefore.get());
        if (freeze == FsFreeze.REQUIRED) {
            assertThat(r.fsFreeze().quiesced()).as(r.fsFreeze().note()).isTrue();
        }
        return new Instant(tickBefore.get(), recordBefore.get(), tickAfter.get());
    }

    /** Restores only the disks of {@code archive} (RestoreSession) as raw images; returns the data disk's. */
    private static Path restoreDataDisk(Path archive, Path dir) throws Exception {
        RestoreResult r = RestoreSession.builder().archive(archive).imageDirectory(dir).format(RestoreFormat.RAW)
                .build().start().get(2, TimeUnit.MINUTES);
        assertThat(r.disks()).hasSize(1);
        assertThat(r.disks().get(0).name()).isEqualTo("drive-" + GuestVm.DATA_NODE);
        return r.disks().get(0).path();
    }

    /** e2fsck -fn finds nothing, and the records are intact up to at least the last one synced before the instant. */
    private static void assertCleanWithRecordsUpTo(Path image, Instant instant) throws Exception {
        GuestRecords.Fsck fsck = GuestRecords.fsck(guest, image);
        assertThat(fsck.clean()).as("e2fsck -fn: %s", fsck.output()).isTrue();
        assertThat(fsck.needsRecovery()).as("e2fsck -fn: %s", fsck.output()).isFalse();
        assertThat(Ext4Superblock.needsRecovery(image)).as("needs_recovery in the superblock").isFalse();
        GuestRecords records = GuestRecords.read(guest, image);
        log.info("{}: {} records, last {}, torn tail '{}', synced before the instant: {}", image.getFileName(),
                records.count(), records.last(), records.tornTail(), instant.recordBefore());
        assertThat(records.intact()).as("records %s", records).isTrue();
        assertThat(records.last()).as("every record synced before the instant").isGreaterThanOrEqualTo(
                instant.recordBefore());
    }

    /**
     * The first {@code PREFIX N} line of a restored console that was printed whole after the restore (the first
     * console line may be the rest of one the guest was printing at the instant).
     */
    private static long firstFull(GuestConsole console, String prefix) throws Exception {
        console.awaitLine(l -> GuestConsole.number(l, prefix) >= 0, WAIT, "'" + prefix + "N'");
        for (String l : console.lines()) {
            long n = GuestConsole.number(l, prefix);
            if (n >= 0) {
                return n;
            }
        }
        throw new AssertionError("unreachable: a line was seen");
    }

    /** After the first tick, every tick is the next number: the guest kept running, it was not restarted. */
    private static void assertTicksConsecutive(List<String> lines, long first) {
        long expected = first;
        for (String l : lines) {
            if (l.startsWith("tick ")) {
                assertThat(Long.parseLong(l.substring(5).strip())).as("console %s", lines).isEqualTo(expected++);
            }
        }
        assertThat(expected).as("ticks seen").isGreaterThan(first);
    }

    private static GuestAgentClient agent(Path socket) throws Exception {
        return GuestAgentClient.builder(socket).connectTimeout(WAIT).timeout(Duration.ofSeconds(60)).connect()
                .get(2, TimeUnit.MINUTES);
    }

    /** Runs {@code script} with the guest's {@code /bin/sh} through the agent; returns its output (exit 0 required). */
    private static String guestExec(GuestAgentClient qga, String script) throws Exception {
        JsonObject args = JsonObject.builder().put("path", "/bin/sh")
                .put("arg", new JsonArray(List.of(Json.of("-c"), Json.of(script))))
                .put("capture-output", true).build();
        long pid = qga.execute("guest-exec", args, Duration.ofSeconds(60)).get(2, TimeUnit.MINUTES)
                .require("pid").asLong();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            Json s = qga.execute("guest-exec-status", JsonObject.builder().put("pid", pid).build(),
                    Duration.ofSeconds(60)).get(2, TimeUnit.MINUTES);
            if (s.require("exited").asBoolean()) {
                String out = decode(s, "out-data");
                assertThat(s.opt("exitcode").map(Json::asInt).orElse(-1)).as("guest script: %s %s", out,
                        decode(s, "err-data")).isZero();
                return out;
            }
            assertThat(System.nanoTime()).as("the guest script ended within 2 minutes").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static String decode(Json status, String member) {
        return status.opt(member).map(j -> new String(Base64.getDecoder().decode(j.asString()),
                StandardCharsets.UTF_8)).orElse("");
    }
}
