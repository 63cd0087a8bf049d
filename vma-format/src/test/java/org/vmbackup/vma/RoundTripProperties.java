package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Whatever the device set, zero pattern, write order and thread interleaving: what is read back was written. */
class RoundTripProperties {
    @Property(tries = 150)
    void readBackEqualsWritten(@ForAll long seed, @ForAll @IntRange(min = 1, max = 59) int clustersPerExtent,
            @ForAll @IntRange(min = 1, max = 4) int threads) throws Exception {
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

    @Property(tries = 40)
    void vmstateStreamSurvivesAlongsideShuffledDiskWrites(@ForAll long seed,
            @ForAll @IntRange(min = 0, max = 400_000) int stateLength) throws Exception {
        Random r = new Random(seed);
        byte[] disk = ArchiveFixtures.randomImage(r, 1 + r.nextInt(300_000));
        byte[] state = ArchiveFixtures.randomImage(r, stateLength);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (VmaWriter w = VmaWriter.builder().disk("drive-scsi0", disk.length).vmstate(stateLength)
                .clustersPerExtent(1 + r.nextInt(59)).open(java.nio.channels.Channels.newChannel(out))) {
            Thread diskWriter = new Thread(() -> {
                for (int at = 0; at < disk.length; at += 65536) {
                    w.write(w.device("drive-scsi0"), at, java.nio.ByteBuffer.wrap(disk, at,
                            Math.min(65536, disk.length - at)));
                }
            });
            diskWriter.start();
            var ch = w.vmstateChannel();
            for (int at = 0; at < state.length;) {
                int n = Math.min(state.length - at, r.nextInt(4) == 0 ? 65536 * (1 + r.nextInt(3)) - at % 65536
                        : 1 + r.nextInt(100_000)); // sometimes cluster-aligned pieces: the copy-free path
                ch.write(java.nio.ByteBuffer.wrap(state, at, n));
                at += n;
            }
            diskWriter.join();
        }
        try (VmaReader reader = VmaReader.open(new ByteArrayInputStream(out.toByteArray()))) {
            ArchiveImages got = ArchiveImages.decode(reader);
            assertThat(got.images.get("drive-scsi0")).isEqualTo(disk);
            byte[] vm = got.images.get("vmstate");
            assertThat(vm.length).isEqualTo((stateLength + 65535) / 65536 * 65536);
            assertThat(java.util.Arrays.copyOf(vm, stateLength)).isEqualTo(state);
            assertThat(java.util.Arrays.copyOfRange(vm, stateLength, vm.length)).isEqualTo(new byte[vm.length - stateLength]);
        }
    }
}
