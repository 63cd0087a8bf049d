package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.QemuInstall;
import org.vmbackup.testkit.QemuProcess;
import org.vmbackup.testkit.RawQmp;

/**
 * A VM for incremental-backup ITs whose images outlive its QEMU (they are in the test's directory, so QEMU can be
 * quit, killed and started again on them): disk {@code hd0} a qcow2 image, {@code hd1} a raw one, both seeded
 * random. The test writes through HMP {@code qemu-io} as the guest would and keeps a model of every disk's
 * content, and the set of bitmap-granularity blocks written since the last backup.
 */
final class IncrementalVm implements AutoCloseable {
    static final int GRANULARITY = 64 << 10;

    private final Path images;
    final List<byte[]> model = new ArrayList<>();
    /** Per disk, the granularity blocks written since {@link #backedUp()}. */
    final List<TreeSet<Long>> dirty = new ArrayList<>();
    private QemuProcess qemu;
    private RawQmp check;
    private int extraDisks;

    private IncrementalVm(Path images) {
        this.images = images;
    }

    /** Creates the images ({@code size} bytes each) in {@code images} and starts QEMU on them. */
    static IncrementalVm create(Path images, long seed, int size) throws Exception {
        IncrementalVm vm = new IncrementalVm(images);
        Random rnd = new Random(seed);
        for (int i = 0; i < 2; i++) {
            byte[] d = new byte[size];
            rnd.nextBytes(d);
            Arrays.fill(d, size / 4, size / 2, (byte) 0);
            vm.model.add(d);
            vm.dirty.add(new TreeSet<>());
        }
        Files.write(images.resolve("seed0.raw"), vm.model.get(0));
        qemuImg("convert", "-f", "raw", "-O", "qcow2", images.resolve("seed0.raw").toString(),
                images.resolve("d0.qcow2").toString());
        Files.delete(images.resolve("seed0.raw"));
        Files.write(images.resolve("d1.raw"), vm.model.get(1));
        vm.start();
        return vm;
    }

    static String qemuImg(String... args) throws Exception {
        String exe = QemuInstall.current().prefix().map(p -> p.resolve("usr/bin/qemu-img").toString())
                .orElse("qemu-img");
        List<String> cmd = new ArrayList<>(List.of(exe));
        cmd.addAll(List.of(args));
        return ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofMinutes(2)).run().requireSuccess()
                .stdout();
    }

    /** Starts QEMU on the images. */
    void start() throws IOException {
        List<String> args = new ArrayList<>(List.of(
                "-drive", "if=none,id=hd0,file=" + images.resolve("d0.qcow2") + ",format=qcow2",
                "-device", "virtio-blk-pci,drive=hd0",
                "-drive", "if=none,id=hd1,file=" + images.resolve("d1.raw") + ",format=raw",
                "-device", "virtio-blk-pci,drive=hd1"));
        for (int i = 2; i < 2 + extraDisks; i++) {
            args.addAll(List.of("-drive", "if=none,id=hd" + i + ",file=" + images.resolve("d" + i + ".raw")
                    + ",format=raw", "-device", "virtio-blk-pci,drive=hd" + i));
        }
        args.addAll(List.of("-qmp", "unix:{dir}/check.sock,server=on,wait=off"));
        qemu = QemuProcess.system().memoryMiB(128).args(args.toArray(String[]::new)).start();
        check = null;
    }

    Path qmpSocket() {
        return qemu.qmpSocket();
    }

    /** The test's own monitor. */
    RawQmp check() throws IOException, InterruptedException {
        for (int i = 0; check == null; i++) {
            try {
                check = RawQmp.connect(qemu.dir().resolve("check.sock"));
            } catch (IOException e) {
                if (i > 200) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
        return check;
    }

    /** A guest write of {@code pattern} bytes through disk {@code disk}, recorded in the model. */
    void write(int disk, long offset, int length, int pattern) throws Exception {
        String reply = hmp("qemu-io hd" + disk + " \\\"write -P " + pattern + " " + offset + " " + length + "\\\"");
        assertThat(reply).contains("\"return\"").doesNotContain("error");
        Arrays.fill(model.get(disk), (int) offset, (int) offset + length, (byte) pattern);
        for (long b = offset / GRANULARITY; b <= (offset + length - 1) / GRANULARITY; b++) {
            dirty.get(disk).add(b);
        }
    }

    String hmp(String line) throws Exception {
        return check().execute("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"" + line
                + "\"}}");
    }

    /** The changed bytes since the last backup, rounded out to the bitmap granularity. */
    long dirtyBytes(int disk) {
        return (long) dirty.get(disk).size() * GRANULARITY;
    }

    /** A copy of every disk's content now (the instant of the backup that follows). */
    List<byte[]> backedUp() {
        dirty.forEach(TreeSet::clear);
        return model.stream().map(byte[]::clone).toList();
    }

    /** Our bitmaps' names and states on every node, as {@code query-block} shows them. */
    String bitmaps() throws Exception {
        return check().execute("{\"execute\":\"query-block\"}");
    }

    /** Quits QEMU cleanly (persistent bitmaps are written into the qcow2 image) and waits for it to exit. */
    void quit() throws Exception {
        check().execute("{\"execute\":\"quit\"}");
        assertThat(qemu.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("QEMU quit").isTrue();
        stop();
    }

    /** Kills QEMU with SIGKILL: a persistent bitmap is left marked in use in the image (inconsistent). */
    void kill() throws Exception {
        ProcessRunner.command("kill", "-9", Long.toString(qemu.pid())).run().requireSuccess();
        assertThat(qemu.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("QEMU died").isTrue();
        stop();
    }

    /** Adds a raw disk of {@code size} random bytes, used from the next {@link #start()}. */
    void addDisk(long seed, int size) throws IOException {
        byte[] d = new byte[size];
        new Random(seed).nextBytes(d);
        Files.write(images.resolve("d" + (2 + extraDisks) + ".raw"), d);
        extraDisks++;
        model.add(d);
        dirty.add(new TreeSet<>());
    }

    /** Grows disk {@code disk} to {@code size} bytes with {@code block_resize} (the new part reads as zero). */
    void resize(int disk, int size) throws Exception {
        assertThat(check().execute("{\"execute\":\"block_resize\",\"arguments\":{\"device\":\"hd" + disk
                + "\",\"size\":" + size + "}}")).contains("\"return\"");
        model.set(disk, Arrays.copyOf(model.get(disk), size));
    }

    private void stop() throws IOException {
        if (check != null) {
            try {
                check.close();
            } catch (IOException e) {
                // QEMU is gone
            }
            check = null;
        }
        qemu.close();
    }

    /** The disk's content as QEMU sees it now, read from the image (QEMU must be stopped or flushed). */
    byte[] image(int disk) throws Exception {
        Path raw = images.resolve("check" + disk + ".raw");
        Files.deleteIfExists(raw);
        qemuImg("convert", "-U", "-O", "raw", images.resolve(disk == 0 ? "d0.qcow2" : "d" + disk + ".raw")
                .toString(), raw.toString());
        byte[] out = Files.readAllBytes(raw);
        Files.delete(raw);
        return out;
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
