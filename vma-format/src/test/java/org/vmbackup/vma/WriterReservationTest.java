package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clusters written in place through {@link VmaWriter#tryReserve}, mixed with ordinary writes. */
class WriterReservationTest {
    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    /** An image whose clusters are all data, all zero, or data with some zero blocks. */
    private static byte[] image(int clusters, long seed) {
        Random r = new Random(seed);
        byte[] img = new byte[clusters * CLUSTER];
        for (int c = 0; c < clusters; c++) {
            int kind = r.nextInt(3);
            for (int b = 0; b < 16; b++) {
                if (kind == 0 || (kind == 1 && r.nextBoolean())) {
                    int at = c * CLUSTER + b * 4096;
                    for (int i = at; i < at + 4096; i++) {
                        img[i] = (byte) (r.nextInt(255) + 1);
                    }
                }
            }
        }
        return img;
    }

    private static void fill(VmaWriter.Reservation res, byte[] img, int offset) {
        int at = offset;
        for (ByteBuffer b : res.buffers()) {
            int n = b.remaining();
            b.put(img, at, n);
            at += n;
        }
    }

    private static ArchiveImages decode(byte[] archive) throws Exception {
        try (VmaReader r = VmaReader.open(new ByteArrayInputStream(archive))) {
            return ArchiveImages.decode(r);
        }
    }

    @Test
    void inPlaceClustersReadBackAndCostWhatOrdinaryWritesCost() throws Exception {
        int clusters = 200;
        byte[] img = image(clusters, 7);
        // ranges of 1..20 clusters in shuffled order, every other one in place
        List<int[]> ranges = new ArrayList<>();
        Random r = new Random(8);
        for (int c = 0; c < clusters; ) {
            int n = Math.min(clusters - c, 1 + r.nextInt(20));
            ranges.add(new int[] {c, n});
            c += n;
        }
        Collections.shuffle(ranges, r);
        ByteArrayOutputStream placedOut = new ByteArrayOutputStream();
        VmaWriter placed = VmaWriter.builder().disk("d", img.length).bufferedExtents(8)
                .open(Channels.newChannel(placedOut));
        VmaDevice d = placed.device("d");
        int reserved = 0;
        List<VmaWriter.Reservation> open = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) {
            int first = ranges.get(i)[0];
            int n = ranges.get(i)[1];
            VmaWriter.Reservation res = i % 2 == 0 ? placed.tryReserve(d, (long) first * CLUSTER, n * CLUSTER) : null;
            if (res == null) {
                placed.write(d, (long) first * CLUSTER, ByteBuffer.wrap(img, first * CLUSTER, n * CLUSTER));
                continue;
            }
            reserved++;
            fill(res, img, first * CLUSTER);
            open.add(res);
            if (open.size() == 3) { // commit out of order, a few at a time
                open.remove(1).commit();
                open.remove(0).commit();
            }
        }
        for (VmaWriter.Reservation res : open) {
            res.commit();
        }
        placed.close();
        assertThat(reserved).isGreaterThan(ranges.size() / 3);

        ByteArrayOutputStream plainOut = new ByteArrayOutputStream();
        VmaWriter plain = VmaWriter.builder().disk("d", img.length).open(Channels.newChannel(plainOut));
        plain.write(plain.device("d"), 0, ByteBuffer.wrap(img));
        plain.close();

        assertThat(decode(placedOut.toByteArray()).images.get("d")).isEqualTo(img);
        assertThat(placedOut.size()).as("zero blocks of in-place clusters were squeezed out")
                .isEqualTo(plainOut.size());
        VmaDeviceStats ps = placed.stats().devices().get(0);
        VmaDeviceStats qs = plain.stats().devices().get(0);
        assertThat(ps.storedBytes()).isEqualTo(qs.storedBytes());
        assertThat(ps.zeroBytes()).isEqualTo(qs.zeroBytes());
        assertThat(ps.clusters()).isEqualTo(clusters);
    }

    @Test
    void aReservationSpanningTwoExtentsIsSplitInTwoBuffers() throws Exception {
        byte[] img = image(10, 9);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriter w = VmaWriter.builder().disk("d", img.length).clustersPerExtent(4).open(Channels.newChannel(out));
        VmaDevice d = w.device("d");
        w.write(d, 0, ByteBuffer.wrap(img, 0, 3 * CLUSTER));
        VmaWriter.Reservation res = w.tryReserve(d, 3L * CLUSTER, 3 * CLUSTER);
        assertThat(res).isNotNull();
        assertThat(res.buffers()).hasSize(2);
        assertThat(res.buffers().get(0).remaining()).isEqualTo(CLUSTER);
        assertThat(res.buffers().get(1).remaining()).isEqualTo(2 * CLUSTER);
        fill(res, img, 3 * CLUSTER);
        res.commit();
        w.write(d, 6L * CLUSTER, ByteBuffer.wrap(img, 6 * CLUSTER, 4 * CLUSTER));
        w.close();
        assertThat(decode(out.toByteArray()).images.get("d")).isEqualTo(img);
    }

    @Test
    void onlyWholeClustersInsideTheDeviceAreReserved() throws Exception {
        VmaWriter w = VmaWriter.builder().disk("d", 10L * CLUSTER + 100).open(Channels.newChannel(
                new ByteArrayOutputStream()));
        VmaDevice d = w.device("d");
        assertThat(w.tryReserve(d, 100, CLUSTER)).as("unaligned offset").isNull();
        assertThat(w.tryReserve(d, 0, CLUSTER + 4096)).as("partial cluster").isNull();
        assertThat(w.tryReserve(d, 10L * CLUSTER, CLUSTER)).as("the short last cluster").isNull();
        assertThat(w.tryReserve(d, 0, 59 * CLUSTER)).as("more than an extent").isNull();
        VmaWriter.Reservation res = w.tryReserve(d, 0, 2 * CLUSTER);
        assertThat(res).isNotNull();
        assertThatThrownBy(() -> w.write(d, CLUSTER, ByteBuffer.allocate(CLUSTER)))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("written twice");
        assertThatThrownBy(() -> w.tryReserve(d, CLUSTER, CLUSTER)).isInstanceOf(VmaFormatException.class)
                .hasMessageContaining("cluster 1");
        res.commit();
        assertThatThrownBy(res::commit).isInstanceOf(IllegalStateException.class);
        w.abort();
    }

    @Test
    void vmstateClustersStayInSequenceWhenAnExtentIsPinnedByAReservation() throws Exception {
        // Seen with a real guest on QEMU 10: a reservation pinned the extent holding vmstate clusters 28.., later
        // vmstate clusters went out in the next extent first, and the reader refused the archive ("vmstate
        // cluster 51 out of order (expected 28)").
        byte[] img = image(4, 13);
        byte[] state = new byte[6 * CLUSTER];
        new Random(14).nextBytes(state);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriter w = VmaWriter.builder().disk("d", img.length).vmstate(state.length).clustersPerExtent(3)
                .open(Channels.newChannel(out));
        VmaDevice d = w.device("d");
        VmaWriter.Reservation res = w.tryReserve(d, 0, CLUSTER); // pins the extent being filled
        assertThat(res).isNotNull();
        var vm = w.vmstateChannel();
        vm.write(ByteBuffer.wrap(state, 0, 2 * CLUSTER)); // the pinned extent is not where these may go
        fill(res, img, 0);
        res.commit();
        vm.write(ByteBuffer.wrap(state, 2 * CLUSTER, CLUSTER));
        VmaWriter.Reservation res2 = w.tryReserve(d, CLUSTER, 2 * CLUSTER); // not into an extent holding vmstate
        assertThat(res2).isNotNull();
        vm.write(ByteBuffer.wrap(state, 3 * CLUSTER, 3 * CLUSTER)); // while that one is still pinned
        fill(res2, img, CLUSTER);
        res2.commit();
        w.write(d, 3L * CLUSTER, ByteBuffer.wrap(img, 3 * CLUSTER, CLUSTER));
        w.close();
        ArchiveImages images = decode(out.toByteArray());
        assertThat(images.images.get("d")).isEqualTo(img);
        assertThat(images.images.get("vmstate")).isEqualTo(state);
    }

    @Test
    void anAbandonedReservationFailsTheArchive() throws Exception {
        Path archive = dir.resolve("a.vma");
        VmaWriter w = VmaWriter.builder().disk("d", 4L * CLUSTER).open(archive);
        VmaDevice d = w.device("d");
        VmaWriter.Reservation res = w.tryReserve(d, 0, 2 * CLUSTER);
        res.buffers().get(0).put(new byte[1000]);
        res.abandon();
        assertThatThrownBy(() -> w.write(d, 2L * CLUSTER, ByteBuffer.allocate(2 * CLUSTER)))
                .isInstanceOf(VmaFormatException.class).hasMessageContaining("abandoned");
        assertThatThrownBy(w::close).isInstanceOf(VmaFormatException.class).hasMessageContaining("offset 0");
        assertThat(archive).doesNotExist();
        assertThat(dir.resolve("a.vma.part")).doesNotExist();
    }

    @Test
    void closingWithAReservationStillOpenFails() throws Exception {
        Path archive = dir.resolve("b.vma");
        VmaWriter w = VmaWriter.builder().disk("d", 2L * CLUSTER).open(archive);
        w.tryReserve(w.device("d"), 0, 2 * CLUSTER);
        assertThatThrownBy(w::close).isInstanceOf(VmaFormatException.class).hasMessageContaining("never committed");
        assertThat(archive).doesNotExist();
        assertThat(Files.list(dir)).isEmpty();
    }

    @Test
    void pinnedBuffersMakeReservationsFailFastAndWritersWaitUntilACommit() throws Exception {
        byte[] img = image(8, 11);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VmaWriter w = VmaWriter.builder().disk("d", img.length).clustersPerExtent(2).bufferedExtents(2)
                .open(Channels.newChannel(out));
        VmaDevice d = w.device("d");
        VmaWriter.Reservation a = w.tryReserve(d, 0, 2 * CLUSTER); // fills and seals extent 1 (pinned)
        VmaWriter.Reservation b = w.tryReserve(d, 2L * CLUSTER, 2 * CLUSTER); // extent 2: both buffers pinned
        assertThat(a).isNotNull();
        assertThat(b).isNotNull();
        assertThat(w.tryReserve(d, 4L * CLUSTER, 2 * CLUSTER)).as("no free buffer: fail fast").isNull();
        CompletableFuture<Void> writer = CompletableFuture.runAsync(
                () -> w.write(d, 4L * CLUSTER, ByteBuffer.wrap(img, 4 * CLUSTER, 4 * CLUSTER)));
        assertThatThrownBy(() -> writer.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
        fill(b, img, 2 * CLUSTER);
        b.commit(); // must not wait behind the blocked writer
        fill(a, img, 0);
        a.commit();
        writer.get(10, TimeUnit.SECONDS);
        w.close();
        assertThat(decode(out.toByteArray()).images.get("d")).isEqualTo(img);
    }
}
