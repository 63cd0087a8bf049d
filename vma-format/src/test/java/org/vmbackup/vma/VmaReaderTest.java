package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Crafted archives with valid checksums: each check of the reader fires with the offset in its message. */
class VmaReaderTest {
    private static final int HEADER = 12800; // header size of two-disks.vma

    private static byte[] twoDisks() throws Exception {
        return Files.readAllBytes(VectorsTest.vector("two-disks.vma"));
    }

    /** Recomputes the MD5 of the 16-byte field at md5At over [from, to). */
    private static void resign(byte[] a, int from, int to, int md5At) throws Exception {
        Arrays.fill(a, md5At, md5At + 16, (byte) 0);
        MessageDigest md = MessageDigest.getInstance("MD5");
        md.update(a, from, to - from);
        System.arraycopy(md.digest(), 0, a, md5At, 16);
    }

    private static void resignExtent(byte[] a, int at) throws Exception {
        resign(a, at, at + 512, at + 24);
    }

    private static void assertRejected(byte[] a, String... parts) {
        assertThatThrownBy(() -> {
            try (VmaReader r = VmaReader.open(new ByteArrayInputStream(a))) {
                r.readAll((d, c, m, b) -> { });
            }
        }).isInstanceOf(VmaFormatException.class).hasMessageContaining("offset").hasMessageContaining(parts[0]);
    }

    @Test
    void hugeHeaderSizeIsRefusedBeforeAllocating() throws Exception {
        byte[] a = twoDisks();
        ByteBuffer.wrap(a).putInt(56, 0x7FFF_FFFF);
        assertRejected(a, "header_size");
        ByteBuffer.wrap(a).putInt(56, 12288);
        assertRejected(a, "header_size");
    }

    /** HotSpot's count of bytes this thread allocated (reflection: this module does not read jdk.management). */
    private static long allocatedByThisThread() throws Exception {
        Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class)
                .invoke(bean, Thread.currentThread().getId());
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void aShortInputClaimingTheLargestHeaderIsTruncatedWithoutAllocatingWhatItClaims() throws Exception {
        // header_size is the peer's claim: 12 KiB of input declaring the largest accepted header (64 MiB) made the
        // reader allocate all 64 MiB before it found the input ended.
        byte[] a = Arrays.copyOf(twoDisks(), 12288 + 4096);
        ByteBuffer.wrap(a).putInt(56, (int) VmaConstants.MAX_READ_HEADER_SIZE);
        long before = allocatedByThisThread();
        assertRejected(a, "truncated inside the " + VmaConstants.MAX_READ_HEADER_SIZE + "-byte header");
        long allocated = allocatedByThisThread() - before;
        assertThat(allocated).as("bytes allocated for 16 KiB of input").isLessThan(8L << 20);
    }

    @Test
    void headerChecksVersionAndBlobBounds() throws Exception {
        byte[] a = twoDisks();
        ByteBuffer.wrap(a).putInt(4, 2);
        resign(a, 0, HEADER, 32);
        assertRejected(a, "version");
        byte[] b = twoDisks();
        ByteBuffer.wrap(b).putInt(52, HEADER);
        resign(b, 0, HEADER, 32);
        assertRejected(b, "blob area");
        byte[] c = twoDisks();
        ByteBuffer.wrap(c).putInt(3068, 7); // config data pointer into the middle of a blob
        resign(c, 0, HEADER, 32);
        assertRejected(c, "invalid data pointers");
        byte[] d = twoDisks();
        d[100] ^= 1;
        assertRejected(d, "header MD5");
    }

    @Test
    void extentChecks() throws Exception {
        int slot0 = HEADER + 40;
        byte[] unknownDev = twoDisks();
        unknownDev[slot0 + 3] = 9;
        resignExtent(unknownDev, HEADER);
        assertRejected(unknownDev, "unknown dev_id 9");

        byte[] beyond = twoDisks();
        ByteBuffer.wrap(beyond).putInt(slot0 + 4, 1000);
        resignExtent(beyond, HEADER);
        assertRejected(beyond, "beyond the end");

        byte[] dup = twoDisks();
        long s0 = ByteBuffer.wrap(dup).getLong(slot0);
        long s1 = ByteBuffer.wrap(dup).getLong(slot0 + 8);
        ByteBuffer.wrap(dup).putLong(slot0 + 8, (s1 & 0xFFFF_0000_0000_0000L) | (s0 & 0xFFFF_FFFF_FFFFL));
        resignExtent(dup, HEADER);
        assertRejected(dup, "duplicate cluster");

        byte[] count = twoDisks();
        ByteBuffer.wrap(count).putShort(HEADER + 6, (short) 1);
        resignExtent(count, HEADER);
        assertRejected(count, "block_count");

        byte[] reserved = twoDisks();
        reserved[HEADER + 5] = 1;
        resignExtent(reserved, HEADER);
        assertRejected(reserved, "reserved");

        byte[] uuid = twoDisks();
        uuid[HEADER + 8] ^= 1;
        resignExtent(uuid, HEADER);
        assertRejected(uuid, "uuid");

        byte[] unused = twoDisks();
        unused[HEADER + 40 + 8 * 58 + 7] = 1;
        resignExtent(unused, HEADER);
        assertRejected(unused, "unused slot");
    }

    @Test
    void truncationAtAnExtentBoundaryIsIncompleteNamingDeviceAndCluster() throws Exception {
        byte[] a = twoDisks();
        int blocks = ByteBuffer.wrap(a).getShort(HEADER + 6) & 0xFFFF;
        byte[] cut = Arrays.copyOf(a, HEADER + 512 + blocks * 4096);
        assertRejected(cut, "misses cluster");
        assertThatThrownBy(() -> {
            try (VmaReader r = VmaReader.open(new ByteArrayInputStream(cut))) {
                r.readAll((d, c, m, b) -> { });
            }
        }).hasMessageContaining("drive-");
    }

    @Test
    void readsFromAPipe() throws Exception {
        byte[] a = twoDisks();
        PipedOutputStream out = new PipedOutputStream();
        InputStream in = new PipedInputStream(out, 8192);
        Thread feeder = new Thread(() -> {
            try (out) {
                for (int at = 0; at < a.length; at += 1000) {
                    out.write(a, at, Math.min(1000, a.length - at));
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        feeder.start();
        try (VmaReader r = VmaReader.open(in)) {
            ArchiveImages img = ArchiveImages.decode(r);
            assertThat(VectorsTest.sha256(img.images.get("drive-scsi0")))
                    .isEqualTo(VectorsTest.expectedSha("two-disks.vma", "drive-scsi0"));
        }
        feeder.join();
    }

    @Test
    void scatteredClustersOfAHugeDeviceHitTheTrackingBudgetNotTheHeap() throws Exception {
        java.util.UUID uuid = java.util.UUID.randomUUID();
        ByteBuffer header = HeaderCodec.encode(uuid, java.time.Instant.now(), java.util.List.of(),
                java.util.List.of(new VmaDevice(1, "huge", 1L << 47)));
        ExtentHeaderCodec codec = new ExtentHeaderCodec(uuid);
        int extents = (int) (ClusterTracker.DEFAULT_BUDGET / ClusterBitmap.CHUNK_COST / 59) + 10;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(header.array());
        ByteBuffer ext = ByteBuffer.allocate(512);
        long[] slots = new long[59];
        long cluster = 0;
        for (int e = 0; e < extents; e++) {
            for (int i = 0; i < 59; i++) {
                slots[i] = ExtentHeaderCodec.slot(0, 1, cluster);
                cluster += 4096; // one bitmap chunk per slot
            }
            codec.encode(ext, slots, 59, 0);
            out.write(ext.array());
        }
        assertRejected(out.toByteArray(), "too many scattered clusters");
    }

    @Test
    void notAnArchive() {
        assertRejected(new byte[0], "not a VMA");
        assertRejected("hello world".getBytes(), "not a VMA");
    }
}
