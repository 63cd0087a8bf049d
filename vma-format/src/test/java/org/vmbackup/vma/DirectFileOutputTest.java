package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Archives written with O_DIRECT are byte for byte those written through the page cache. */
class DirectFileOutputTest {
    @TempDir
    Path dir;

    private static byte[] write(Path archive, boolean direct, byte[] img) throws IOException {
        VmaWriter w = VmaWriter.builder().uuid(new UUID(1, 2)).ctime(Instant.ofEpochSecond(1_700_000_000L))
                .config("qemu-server.conf", "memory: 512\n".getBytes()).disk("hd0", img.length).directIo(direct)
                .open(archive);
        VmaDevice d = w.device("hd0");
        Random r = new Random(5);
        for (int at = 0; at < img.length; ) {
            int n = Math.min(img.length - at, 1 + r.nextInt(3 << 20));
            w.write(d, at, ByteBuffer.wrap(img, at, n));
            at += n;
        }
        w.close();
        return Files.readAllBytes(archive);
    }

    @Test
    void directAndBufferedArchivesAreIdentical() throws Exception {
        // odd size: the archive ends in a partial file block, written through the page cache
        byte[] img = new byte[37 * 65536 * 5 + 12345];
        Random r = new Random(4);
        for (int at = 0; at < img.length; at += 4096) {
            if (r.nextInt(4) > 0) {
                for (int i = at; i < Math.min(img.length, at + 4096); i++) {
                    img[i] = (byte) r.nextInt();
                }
            }
        }
        // the temporary directory is on a disk file system here, so the direct path is really taken
        DirectFileOutput.open(Files.createFile(dir.resolve("probe"))).close();
        byte[] buffered = write(dir.resolve("b.vma"), false, img);
        byte[] direct = write(dir.resolve("d.vma"), true, img);
        assertThat(direct.length % 4096).as("a tail outside whole blocks exists in this case").isNotZero();
        assertThat(direct).isEqualTo(buffered);
        try (VmaReader reader = VmaReader.open(dir.resolve("d.vma"))) {
            assertThat(ArchiveImages.decode(reader).images.get("hd0")).isEqualTo(img);
        }
    }

    @Test
    void fileSystemsWithoutDirectIoFallBackToThePageCache() throws Exception {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) ? Files.createTempDirectory(shm, "vma-direct") : dir;
        try {
            byte[] img = new byte[3 * 65536];
            new Random(6).nextBytes(img);
            byte[] out = write(base.resolve("t.vma"), true, img);
            byte[] ref = write(dir.resolve("ref.vma"), false, img);
            assertThat(out).isEqualTo(ref);
        } finally {
            try (var files = Files.list(base)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
            if (!base.equals(dir)) {
                Files.delete(base);
            }
        }
    }
}
