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
}
