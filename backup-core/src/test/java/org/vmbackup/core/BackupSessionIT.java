package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.NbdEventLoop;

@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BackupSessionIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void archiveHoldsDisksAndRamAsTheyWereAtStopNotAfter() throws Exception {
        try (TestVm vm = TestVm.start(7, 256, 8 * MIB, 12 * MIB)) {
            Path archive = tmp.resolve("vm.vma");
            AtomicBoolean wrote = new AtomicBoolean();
            CompletableFuture<Void> writes = new CompletableFuture<>();
            List<BackupPhase> phases = new ArrayList<>();
            // Throttled (the disks take 8 and 12 s), so the guest's writes below meet regions the jobs have not
            // copied yet. Not an archive that holds writes back: QEMU may wait for its in-flight writes with its
            // monitor blocked, and COPYING, which would release them, then never comes (a CI run hit the cbw timeout).
            BackupSession session = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(archive)
                    .bandwidthLimit(2L * MIB).progress(p -> {
                        if (phases.isEmpty() || phases.get(phases.size() - 1) != p.phase()) {
                            phases.add(p.phase());
                        }
                        if (p.phase() == BackupPhase.COPYING && wrote.compareAndSet(false, true)) {
                            // Guest writes ahead of the jobs: copy-before-write must keep the old data.
                            CompletableFuture.runAsync(() -> {
                                try {
                                    vm.guestWrite(0, 4 * MIB, MIB);
                                    vm.guestWrite(1, 5 * MIB, 2 * MIB);
                                    writes.complete(null);
                                } catch (Exception e) {
                                    writes.completeExceptionally(e);
                                }
                            });
                        }
                    }).build();
            BackupResult r = session.start().get(120, TimeUnit.SECONDS);
            writes.get(30, TimeUnit.SECONDS);

            assertThat(phases).containsExactly(BackupPhase.PREPARING, BackupPhase.CRITICAL_SECTION,
                    BackupPhase.COPYING, BackupPhase.FINISHING, BackupPhase.DONE);
            assertThat(r.archive()).isEqualTo(archive.toAbsolutePath().toString());
            assertThat(r.disks()).extracting(DiskResult::name).containsExactly("drive-hd0", "drive-hd1");
            assertThat(r.disks()).extracting(DiskResult::size).containsExactly(8L * MIB, 12L * MIB);
            for (DiskResult d : r.disks()) {
                assertThat(d.dataBytes() + d.zeroBytes()).isEqualTo(d.size());
                assertThat(d.zeroBytes()).as("the sparse quarter arrives as zero ranges").isGreaterThanOrEqualTo(d.size() / 4);
            }
            assertThat(r.vmstateIncluded()).isTrue();
            assertThat(r.guestPause()).isPositive();

            ArchiveContents a = ArchiveContents.read(archive);
            assertThat(a.images.get("drive-hd0")).isEqualTo(vm.disks.get(0));
            assertThat(a.images.get("drive-hd1")).isEqualTo(vm.disks.get(1));
            // ... and the guest's writes did land on the live disks, after the backup's instant
            assertThat(Arrays.copyOfRange(vm.liveDisk(0), 4 * MIB, 5 * MIB)).containsOnly(0x5a);
            assertThat(Arrays.copyOfRange(vm.liveDisk(1), 5 * MIB, 7 * MIB)).containsOnly(0x5a);

            assertThat(new String(a.vmstate, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("QEVM");
            assertThat(a.vmstate.length).isGreaterThanOrEqualTo((int) r.vmstateBytes());
            assertThat(indexOf(a.vmstate, Arrays.copyOfRange(vm.ram, 0, 4096))).as("RAM pattern page in stream")
                    .isNotNegative();
            String desc = new String(a.header.config("vm.json").orElseThrow().data(), StandardCharsets.UTF_8);
            assertThat(desc).contains("\"name\": \"drive-hd1\"").contains("\"memory\": " + (256L * MIB))
                    .contains("\"version\": \"" + qemuVersion(vm) + "\"");
            vm.assertClean();
            try (var s = Files.list(tmp)) {
                assertThat(s.toList()).containsExactly(archive);
            }
        }
    }

    @Test
    void withoutVmstateTheGuestIsNeverPausedAndADirectoryArchiveWorks() throws Exception {
        try (TestVm vm = TestVm.start(8, 128, 4 * MIB, 3 * MIB + 4096)) {
            vm.check().execute("{\"execute\":\"query-status\"}");
            vm.check().events().clear();
            Path dir = tmp.resolve("vm-dir");
            List<String> perms = new ArrayList<>();
            BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).includeVmstate(false).disk("hd1")
                    .nbdServerListener(server -> {
                        Path sock = Path.of(server.localAddress().toString().replaceFirst("^(unix:|local:)", ""));
                        try {
                            perms.add(java.nio.file.attribute.PosixFilePermissions.toString(
                                    Files.getPosixFilePermissions(sock.getParent())));
                            perms.add(java.nio.file.attribute.PosixFilePermissions.toString(
                                    Files.getPosixFilePermissions(sock)));
                        } catch (java.io.IOException e) {
                            perms.add(e.toString());
                        }
                    })
                    .target(dir).build().start().get(60, TimeUnit.SECONDS);
            assertThat(perms).as("private directory and NBD socket").containsExactly("rwx------", "rw-------");
            assertThat(r.guestPause()).isEqualTo(Duration.ZERO);
            assertThat(r.vmstateIncluded()).isFalse();
            assertThat(r.disks()).extracting(DiskResult::name).containsExactly("drive-hd1");
            assertThat(Files.readAllBytes(dir.resolve("disk-drive-hd1.raw"))).isEqualTo(vm.disks.get(1));
            assertThat(dir.resolve("vmstate.bin")).doesNotExist();
            assertThat(Files.readString(dir.resolve("manifest.json"))).contains("\"vmstate\": null");
            assertThat(Files.readString(dir.resolve("config/vm.json"))).contains("\"vmstate\": false");
            vm.check().execute("{\"execute\":\"query-status\"}");
            assertThat(vm.check().events()).noneMatch(e -> e.contains("\"STOP\""));
            vm.assertClean();
        }
    }

    @Test
    void threeVmsBackedUpConcurrentlyShareOneEventLoop() throws Exception {
        List<TestVm> vms = new ArrayList<>();
        try (NbdEventLoop loop = NbdEventLoop.create(2, true)) {
            try {
                for (int i = 0; i < 3; i++) {
                    vms.add(TestVm.start(20 + i, 128, 6 * MIB + i * MIB, 2 * MIB));
                }
                List<CompletableFuture<BackupResult>> running = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    running.add(BackupSession.builder().qmpSocket(vms.get(i).qmpSocket()).eventLoop(loop)
                            .target(tmp.resolve("vm" + i + ".vma")).build().start());
                }
                for (int i = 0; i < 3; i++) {
                    BackupResult r = running.get(i).get(120, TimeUnit.SECONDS);
                    assertThat(r.vmstateBytes()).isPositive();
                    ArchiveContents a = ArchiveContents.read(tmp.resolve("vm" + i + ".vma"));
                    assertThat(a.images.get("drive-hd0")).isEqualTo(vms.get(i).disks.get(0));
                    assertThat(a.images.get("drive-hd1")).isEqualTo(vms.get(i).disks.get(1));
                    assertThat(new String(a.vmstate, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("QEVM");
                    vms.get(i).assertClean();
                }
            } finally {
                for (TestVm vm : vms) {
                    vm.close();
                }
            }
        }
    }

    @Test
    void aPausedGuestIsBackedUpAndLeftPaused() throws Exception {
        try (TestVm vm = TestVm.start(9, 128, 4 * MIB)) {
            vm.check().execute("{\"execute\":\"stop\"}");
            Path archive = tmp.resolve("paused.vma");
            BackupResult r = BackupSession.builder().qmpSocket(vm.qmpSocket()).target(archive).build().start()
                    .get(60, TimeUnit.SECONDS);
            assertThat(r.guestPause()).as("the session paused nothing").isEqualTo(Duration.ZERO);
            assertThat(vm.check().execute("{\"execute\":\"query-status\"}")).contains("\"running\": false");
            ArchiveContents a = ArchiveContents.read(archive);
            assertThat(a.images.get("drive-hd0")).isEqualTo(vm.disks.get(0));
            assertThat(new String(a.vmstate, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("QEVM");
            assertThat(vm.check().execute("{\"execute\":\"query-jobs\"}")).isEqualTo("{\"return\": []}");
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** "major.minor.micro" of the QEMU the test drives, as query-version says (7.2, 10.0, ...). */
    private static String qemuVersion(TestVm vm) throws Exception {
        String reply = vm.check().execute("{\"execute\":\"query-version\"}");
        StringBuilder v = new StringBuilder();
        for (String part : List.of("major", "minor", "micro")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + part + "\": ?(\\d+)").matcher(reply);
            assertThat(m.find()).as("%s in query-version reply %s", part, reply).isTrue();
            v.append(v.length() == 0 ? "" : ".").append(m.group(1));
        }
        return v.toString();
    }
}
