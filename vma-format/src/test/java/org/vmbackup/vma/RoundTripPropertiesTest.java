package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whatever the device set, zero pattern, write order and thread interleaving: what is read back was written.
 * Each case is drawn from a fixed master seed, so a failure names the case (and its seed) that reproduces it; the
 * ranges' edges come first, then random draws.
 */
class RoundTripPropertiesTest {
    private static final int MAX_CLUSTERS_PER_EXTENT = 59;
    private static final int MAX_THREADS = 4;
    private static final int MAX_VMSTATE = 400_000;

    static Stream<Arguments> archives() {
        Random master = new Random(0x564d41L);
        Stream<Arguments> edges = Stream.of(Arguments.of(1L, 1, 1), Arguments.of(2L, MAX_CLUSTERS_PER_EXTENT, 1),
                Arguments.of(3L, 1, MAX_THREADS), Arguments.of(4L, MAX_CLUSTERS_PER_EXTENT, MAX_THREADS));
        Stream<Arguments> drawn = IntStream.range(0, 146).mapToObj(i -> Arguments.of(master.nextLong(),
                1 + master.nextInt(MAX_CLUSTERS_PER_EXTENT), 1 + master.nextInt(MAX_THREADS)));
        return Stream.concat(edges, drawn);
    }

    @ParameterizedTest(name = "seed={0} clustersPerExtent={1} threads={2}")
    @MethodSource("archives")
    void readBackEqualsWritten(long seed, int clustersPerExtent, int threads) throws Exception {
        Random r = new Random(seed);
        Map<String, byte[]> images = ArchiveFixtures.randomImages(r, 5, 600_000);
        byte[] archive = ArchiveFixtures.write(r, images, clustersPerExtent, threads);
        try (VmaReader reader = VmaReader.open(new ByteArrayInputStream(archive))) {
            ArchiveImages got = ArchiveImages.decode(reader);
            assertThat(got.images.keySet()).isEqualTo(images.keySet());
            images.forEach((name, img) -> assertThat(got.images.get(name)).as(name).isEqualTo(img));
            assertThat(reader.position()).isEqualTo(archive.length);
        }
    }

    static Stream<Arguments> vmstates() {
        Random master = new Random(0x7374617465L);
        Stream<Arguments> edges = Stream.of(Arguments.of(1L, 0), Arguments.of(2L, 1), Arguments.of(3L, 65536),
                Arguments.of(4L, 65537), Arguments.of(5L, MAX_VMSTATE));
        Stream<Arguments> drawn = IntStream.range(0, 35)
                .mapToObj(i -> Arguments.of(master.nextLong(), master.nextInt(MAX_VMSTATE + 1)));
        return Stream.concat(edges, drawn);
    }

    @ParameterizedTest(name = "seed={0} stateLength={1}")
    @MethodSource("vmstates")
    void vmstateStreamSurvivesAlongsideShuffledDiskWrites(long seed, int stateLength) throws Exception {
        Random r = new Random(seed);
        byte[] disk = ArchiveFixtures.randomImage(r, 1 + r.nextInt(300_000));
        byte[] state = ArchiveFixtures.randomImage(r, stateLength);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", disk.length).vmstate(stateLength)
                .clustersPerExtent(1 + r.nextInt(MAX_CLUSTERS_PER_EXTENT)).open(Channels.newChannel(out))) {
            Thread diskWriter = new Thread(() -> {
                for (int at = 0; at < disk.length; at += 65536) {
                    w.write(w.device("drive-scsi0"), at, ByteBuffer.wrap(disk, at, Math.min(65536, disk.length - at)));
                }
            });
            diskWriter.start();
            WritableByteChannel ch = w.vmstateChannel();
            for (int at = 0; at < state.length;) {
                int n = Math.min(state.length - at, r.nextInt(4) == 0 ? 65536 * (1 + r.nextInt(3)) - at % 65536
                        : 1 + r.nextInt(100_000)); // sometimes cluster-aligned pieces: the copy-free path
                ch.write(ByteBuffer.wrap(state, at, n));
                at += n;
            }
            diskWriter.join();
        }
        try (VmaReader reader = VmaReader.open(new ByteArrayInputStream(out.toByteArray()))) {
            ArchiveImages got = ArchiveImages.decode(reader);
            assertThat(got.images.get("drive-scsi0")).isEqualTo(disk);
            byte[] vm = got.images.get("vmstate");
            assertThat(vm.length).isEqualTo((stateLength + 65535) / 65536 * 65536);
            assertThat(Arrays.copyOf(vm, stateLength)).isEqualTo(state);
            assertThat(Arrays.copyOfRange(vm, stateLength, vm.length)).isEqualTo(new byte[vm.length - stateLength]);
        }
    }
}
