package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * {@code bitmaps list|remove} against a real QEMU with a qcow2 disk (persistent bitmap) and a raw one (in memory):
 * ours are listed and removed on request while another tool's bitmap stays; once the VM's snapshots are gone from
 * the store its bitmaps are listed as stale, the next backup copies in full saying why and leaves only its own, and
 * {@code remove --stale} removes stale ones at once.
 */
class BitmapsCommandIT {
    private static final Pattern SNAPSHOT = Pattern.compile("(?m)^snapshot (\\S+/\\S+)$");
    private static final String FOREIGN = "libvirt-checkpoint-1";
    /** A bitmap of ours in query-block's answer (QEMU's own paths may contain "vmbackup-" too). */
    private static final String OURS = "\"name\": \"vmbackup-";

    @RegisterExtension
    final StdCapture std = new StdCapture();

    @TempDir
    Path tmp;

    private String run(int expected, String... args) {
        std.out.reset();
        std.err.reset();
        int rc = VmaBackupCli.execute(args);
        String out = std.out.toString(StandardCharsets.UTF_8);
        assertThat(rc).as(out + std.err.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
        return out;
    }

    private String backUp(QemuProcess vm, Path store) throws Exception {
        String out = run(ExitCode.OK, "backup", "--qmp", vm.qmpSocket().toString(), "--no-vmstate", "--store",
                store.toString(), "--vm", "app");
        Matcher m = SNAPSHOT.matcher(out);
        assertThat(m.find()).as(out).isTrue();
        Thread.sleep(1100); // snapshot ids are whole seconds
        return out;
    }

    /** The bitmap names on the drives, as QEMU reports them (checked on a second monitor, not via our client). */
    private static String queryBlock(RawQmp q) throws Exception {
        return q.execute("{\"execute\":\"query-block\"}");
    }

    private static long count(String text, String needle) {
        return Pattern.compile(Pattern.quote(needle)).matcher(text).results().count();
    }

    @Test
    void oursAreListedRemovedOnRequestAndWhenTheirSnapshotsAreGoneAForeignBitmapStays() throws Exception {
        byte[] disk = new byte[8 << 20];
        new Random(7).nextBytes(disk);
        Path store = tmp.resolve("store");
        run(ExitCode.OK, "store", "init", store.toString());
        Path qcow2 = tmp.resolve("d0.qcow2");
        ProcessRunner.command("qemu-img", "create", "-q", "-f", "qcow2", qcow2.toString(), "8M")
                .timeout(Duration.ofMinutes(1)).run().requireSuccess();
        try (QemuProcess vm = QemuProcess.system().args(
                "-drive", "if=none,id=hd0,file=" + qcow2 + ",format=qcow2", "-device", "virtio-blk-pci,drive=hd0",
                "-drive", "if=none,id=hd1,file={dir}/d1.raw,format=raw", "-device", "virtio-blk-pci,drive=hd1",
                "-qmp", "unix:{dir}/check.sock,server=on,wait=off").start(dir -> Files.write(dir.resolve("d1.raw"), disk));
                RawQmp check = RawQmp.connect(vm.dir().resolve("check.sock"))) {
            assertThat(check.execute("{\"execute\":\"block-dirty-bitmap-add\",\"arguments\":{\"node\":\"hd1\","
                    + "\"name\":\"" + FOREIGN + "\"}}")).doesNotContain("error");
            String qmp = vm.qmpSocket().toString();
            backUp(vm, store);
            String second = backUp(vm, store);
            assertThat(second).contains("incremental from app/");

            // listed: one per disk (the first backup's went when the second committed), the foreign one not
            String list = run(ExitCode.OK, "bitmaps", "list", "--qmp", qmp);
            assertThat(count(list, " vmbackup-")).as(list).isEqualTo(2);
            assertThat(list).doesNotContain(FOREIGN);
            String persistent = queryBlock(check);
            assertThat(persistent).contains("\"persistent\": true").contains("\"persistent\": false");
            assertThat(run(ExitCode.OK, "bitmaps", "list", "--qmp", qmp, "--store", store.toString(), "--vm", "app"))
                    .contains("in store").doesNotContain("stale");

            // a selection is required; another store's or VM's selection matches nothing
            run(ExitCode.USAGE, "bitmaps", "remove", "--qmp", qmp);
            assertThat(run(ExitCode.OK, "bitmaps", "remove", "--qmp", qmp, "--store", store.toString(), "--vm",
                    "other")).contains("no bitmap of ours matched");
            assertThat(count(queryBlock(check), OURS)).isEqualTo(2);

            // removed on request: none of ours left, the foreign one stays; the next backup is full and says why
            String removed = run(ExitCode.OK, "bitmaps", "remove", "--qmp", qmp, "--store", store.toString());
            assertThat(count(removed, "removed vmbackup-")).as(removed).isEqualTo(2);
            String after = queryBlock(check);
            assertThat(after).doesNotContain(OURS).contains(FOREIGN);
            assertThat(backUp(vm, store)).contains("full: bitmap missing");

            // every snapshot of the VM gone from the store (prune keeps at least one: deleted by hand here)
            deleteTree(store.resolve("snapshots/app"));
            assertThat(run(ExitCode.OK, "bitmaps", "list", "--qmp", qmp, "--store", store.toString()))
                    .contains("stale: snapshot not in store");
            String stale = queryBlock(check);
            assertThat(count(stale, OURS)).isEqualTo(2);
            String full = backUp(vm, store);
            assertThat(full).contains("full: the snapshot its bitmap vmbackup-").contains("is no longer in the "
                    + "store (pruned?)");
            String newOnly = queryBlock(check);
            assertThat(count(newOnly, OURS)).as("only the new backup's bitmaps remain").isEqualTo(2);
            for (Matcher m = Pattern.compile("\"name\": \"(vmbackup-[^\"]+)\"").matcher(stale); m.find(); ) {
                assertThat(newOnly).as("stale bitmap removed by the backup").doesNotContain(m.group(1));
            }
            assertThat(newOnly).contains(FOREIGN);

            // while a backup job runs, a bitmap whose snapshot is missing may be that backup's new one: list says so
            // instead of calling it stale, and remove --stale refuses (a backup job of another tool stands in here)
            deleteTree(store.resolve("snapshots/app"));
            assertThat(check.execute("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"null-co\","
                    + "\"node-name\":\"sink\",\"size\":" + disk.length + "}}")).doesNotContain("error");
            assertThat(check.execute("{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"slow\","
                    + "\"device\":\"hd1\",\"target\":\"sink\",\"sync\":\"full\",\"speed\":1}}")).doesNotContain("error");
            assertThat(run(ExitCode.OK, "bitmaps", "list", "--qmp", qmp, "--store", store.toString()))
                    .contains("not in store yet (a backup is running").doesNotContain("stale:");
            run(ExitCode.FAILED, "bitmaps", "remove", "--qmp", qmp, "--store", store.toString(), "--stale");
            assertThat(std.err.toString(StandardCharsets.UTF_8)).contains("a backup job (slow) is running");
            check.execute("{\"execute\":\"block-job-cancel\",\"arguments\":{\"device\":\"slow\",\"force\":true}}");
            for (int i = 0; i < 100 && check.execute("{\"execute\":\"query-jobs\"}").contains("slow"); i++) {
                Thread.sleep(100);
            }
            assertThat(count(queryBlock(check), OURS)).as("nothing removed while the job ran").isEqualTo(2);

            // the request form removes stale ones at once, and only those
            String gone = run(ExitCode.OK, "bitmaps", "remove", "--qmp", qmp, "--store", store.toString(),
                    "--stale");
            assertThat(count(gone, "removed vmbackup-")).as(gone).isEqualTo(2);
            assertThat(queryBlock(check)).doesNotContain(OURS).contains(FOREIGN);
        }
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
