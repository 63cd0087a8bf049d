package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A disk's chunk list (FORMAT.md, "Fixed index"): one digest per chunk, the hole digest for all-zero chunks.
 *
 * <p>Never held whole on the heap: an index is 32 MiB per TiB of disk, and a backup holds two at once (its own and
 * its parent's), a restore one per disk, under a heap of 256 MiB ("memory is bounded: buffers do not grow with
 * disk size"). A writer's index lives in an unlinked temporary file, mapped (off the heap; its pages are the page
 * cache's, written back and dropped under pressure) and published from there by streaming. A reader's index stays
 * in the store: it is checked at open in one streaming pass of 4 MiB ranged reads (its SHA-256 against the
 * manifest's, its header, its length), and then read a page at a time by ranged reads through a small cache; each page fetched later is
 * checked against the hash the open pass recorded for it, so an index replaced after its check is an error, never
 * other digests. What still grows with the disk is that list of page hashes: 16 bytes per 64 KiB page of the index
 * (8 KiB per TiB of disk, 1/4096 of the index).
 */
final class FixedIndex implements AutoCloseable {
    private static final byte[] MAGIC = "VBFIDX01".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 32;
    private static final int L = Digests.LENGTH;
    /** Digests per page of a reader: 64 KiB, 2 GiB of disk at 1 MiB chunks; one ranged read each. */
    static final int PAGE_DIGESTS = 2048;
    /**
     * Pages a reader keeps (2 MiB): enough for every slice of {@link ParentTouches} and {@link ReuseCheck} walking
     * its own part at once (one per worker; S3 runs 16), and an index of up to 64 GiB of disk is never read twice.
     */
    static final int CACHE_PAGES = 32;
    /**
     * Pages per ranged read of the checking pass at open (4 MiB): on S3 each read is a round trip, and a 1 TiB
     * disk's index is 8 of them instead of 512 of a page each; the one block is the pass's only buffer.
     */
    static final int OPEN_BLOCK_PAGES = 64;
    /** Bytes of each page's SHA-256 a reader keeps to check pages it fetches again. */
    private static final int PAGE_HASH = 16;

    private final long size;
    private final int chunkSize;
    private final int count;
    private final Slots slots;

    private FixedIndex(long size, int chunkSize, Slots slots) {
        this.size = size;
        this.chunkSize = chunkSize;
        this.count = Math.toIntExact(chunkCount(size, chunkSize));
        this.slots = slots;
    }

    /** Where the digests are: a writer's temporary file or the store's object. */
    private interface Slots {
        void get(int i, byte[] dst) throws IOException;

        boolean isZero(int i) throws IOException;

        void set(int i, byte[] digest) throws IOException;

        void setRun(int first, byte[] digests, int n) throws IOException;

        void close();
    }

    /**
     * A writable index of a disk of {@code size} bytes, all holes, in a temporary file (an index of any size
     * costs the heap nothing).
     *
     * @throws IOException when the temporary file cannot be made
     */
    static FixedIndex create(long size, int chunkSize) throws IOException {
        return new FixedIndex(size, chunkSize, new TempFileSlots(size, chunkSize));
    }

    /**
     * Opens and checks the stored index {@code name} against its SHA-256 (hex) from the manifest; {@code what}
     * names it in errors. Reads the whole object once, a page at a time.
     *
     * @throws CorruptDataException when it is missing, damaged, truncated or too long
     */
    static FixedIndex open(StoreBackend backend, String name, String sha256, String what) throws IOException {
        return PagedSlots.open(backend, name, sha256, what, null);
    }

    /** Sees the digests of an index while it is being checked. */
    interface UncheckedDigests {
        /**
         * @param digest one slot's digest, the hole digest included; only valid during the call
         */
        void accept(byte[] digest);
    }

    /**
     * {@link #open}, handing every digest to {@code visitor} during the checking pass itself: a caller that walks
     * the whole index once needs no second read of it (gc's mark: a large index is otherwise read twice, which on
     * S3 is requests and bytes). The digests are not checked yet when the visitor sees them: it may only do what a
     * failure of this call undoes or makes harmless (gc adds them to its live set, which only keeps more, and a
     * damaged index stops it before it deletes anything).
     */
    static FixedIndex open(StoreBackend backend, String name, String sha256, String what, UncheckedDigests visitor)
            throws IOException {
        return PagedSlots.open(backend, name, sha256, what, visitor);
    }

    static long chunkCount(long size, int chunkSize) {
        return (size + chunkSize - 1) / chunkSize;
    }

    long size() {
        return size;
    }

    int chunkSize() {
        return chunkSize;
    }

    int count() {
        return count;
    }

    /** The length of chunk {@code i} (the last one may be shorter). */
    int chunkLength(int i) {
        return (int) Math.min(chunkSize, size - (long) i * chunkSize);
    }

    /** @throws IOException when a reader's page cannot be fetched again (the index was pruned, or changed) */
    byte[] digest(int i) throws IOException {
        Objects.checkIndex(i, count);
        byte[] d = new byte[L];
        slots.get(i, d);
        return d;
    }

    /** @throws IOException when a reader's page cannot be fetched again (the index was pruned, or changed) */
    boolean isHole(int i) throws IOException {
        Objects.checkIndex(i, count);
        return slots.isZero(i);
    }

    /**
     * Sets slot {@code i} of a writer's index; thread-safe for distinct slots.
     *
     * @throws IOException when the temporary file cannot take it (its file system is full): the snapshot fails
     */
    void set(int i, byte[] digest) throws IOException {
        Objects.checkIndex(i, count);
        slots.set(i, digest);
    }

    /** Sets slots {@code first .. first + n - 1} of a writer's index to the {@code n} digests in {@code digests}. */
    void setRun(int first, byte[] digests, int n) throws IOException {
        Objects.checkFromIndexSize(first, n, count);
        slots.setRun(first, digests, n);
    }

    /**
     * Publishes a writer's index as {@code name}, streamed from its file (never a copy on the heap).
     *
     * @return the SHA-256 (hex) of what was published, for the manifest
     */
    String publish(StoreBackend backend, String name) throws IOException {
        if (!(slots instanceof TempFileSlots t)) {
            throw new IllegalStateException("only a writer's index is published");
        }
        return t.publish(backend, name);
    }

    /** Releases the temporary file (writer) or the page cache (reader). */
    @Override
    public void close() {
        slots.close();
    }

    private static ByteBuffer header(long size, int chunkSize, long count) {
        return ByteBuffer.allocate(HEADER).put(MAGIC).putLong(size).putInt(chunkSize).putInt(0).putLong(count).flip();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A writer's digests: the index object itself (header, then the digests) in an unlinked temporary file, read
     * through a mapping in segments of 1 GiB (a MappedByteBuffer is int-indexed). Unwritten slots are the file's
     * holes, which read as zeros: the hole digest. A hole set on a hole is not written, so the file of a sparse
     * disk stays sparse. Slots are written with positional writes, not through the mapping: a store into a mapped
     * hole of a full file system is a SIGBUS, which the JVM reports as an InternalError at some later point of the
     * thread, and the chunk's slot would stay a hole without an error; a write reports ENOSPC where it happens, and
     * the snapshot fails. One system call per chunk stored (1 MiB) costs nothing measurable.
     */
    private static final class TempFileSlots implements Slots {
        private static final int SEGMENT_SHIFT = 25; // digests per segment: 2^25 x 32 bytes = 1 GiB
        private static final int SEGMENT_MASK = (1 << SEGMENT_SHIFT) - 1;
        private final FileChannel file;
        private final MappedByteBuffer[] segments;
        private final long length;

        TempFileSlots(long size, int chunkSize) throws IOException {
            long count = chunkCount(size, chunkSize);
            this.length = HEADER + count * L;
            Path p = Files.createTempFile("vmbackup-index-", ".fidx");
            try {
                this.file = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } finally {
                // unlinked at once: the open channel and the mappings keep it, and a crash leaves nothing behind
                Files.delete(p);
            }
            try {
                file.write(header(size, chunkSize, count), 0);
                int n = (int) ((count + SEGMENT_MASK) >>> SEGMENT_SHIFT);
                segments = new MappedByteBuffer[n];
                for (int s = 0; s < n; s++) {
                    long first = (long) s << SEGMENT_SHIFT;
                    long digests = Math.min(1L << SEGMENT_SHIFT, count - first);
                    // mapping past the end grows the file, sparse: no disk blocks until a slot is written
                    segments[s] = file.map(FileChannel.MapMode.READ_WRITE, HEADER + first * L, digests * L);
                }
            } catch (IOException | RuntimeException e) {
                file.close();
                throw e;
            }
        }

        @Override
        public void get(int i, byte[] dst) {
            segments[i >>> SEGMENT_SHIFT].get((i & SEGMENT_MASK) * L, dst, 0, L);
        }

        @Override
        public boolean isZero(int i) {
            MappedByteBuffer b = segments[i >>> SEGMENT_SHIFT];
            int at = (i & SEGMENT_MASK) * L;
            return (b.getLong(at) | b.getLong(at + 8) | b.getLong(at + 16) | b.getLong(at + 24)) == 0;
        }

        @Override
        public void set(int i, byte[] digest) throws IOException {
            if (Digests.isHole(digest) && isZero(i)) {
                return;
            }
            write(ByteBuffer.wrap(digest, 0, L), HEADER + (long) i * L);
        }

        @Override
        public void setRun(int first, byte[] digests, int n) throws IOException {
            write(ByteBuffer.wrap(digests, 0, n * L), HEADER + (long) first * L);
        }

        private void write(ByteBuffer b, long pos) throws IOException {
            while (b.hasRemaining()) {
                pos += file.write(b, pos);
            }
        }

        String publish(StoreBackend backend, String name) throws IOException {
            // the hash from the file as it is published (mapped writes and reads of the file share its pages)
            MessageDigest md = sha256();
            ByteBuffer buf = ByteBuffer.allocate(256 << 10);
            for (long pos = 0; pos < length;) {
                buf.clear().limit((int) Math.min(buf.capacity(), length - pos));
                int n = file.read(buf, pos);
                if (n <= 0) {
                    throw new StoreException("the index file for " + name + " is shorter than its " + length + " bytes");
                }
                md.update(buf.flip());
                pos += n;
            }
            backend.publish(name, file, length);
            return Digests.hex(md.digest());
        }

        @Override
        public void close() {
            try {
                file.close();
            } catch (IOException e) {
                // nothing was written through the channel since the header; the mappings go with the garbage
            }
        }
    }

    /**
     * A stored index read by pages (ranged reads) through a small LRU cache. The page last used is kept in a
     * volatile field too: a sequential reader asks about the same page thousands of times in a row, without a
     * lock. Not one per thread: a ThreadLocal's page would stay with every pooled worker that read it after the
     * index is closed, and walkers that share the field (ParentTouches' slices) do a network request per slot
     * anyway, against which the cache's lock costs nothing (measured: 35 ns per slot of a scan either way).
     */
    private static final class PagedSlots implements Slots {
        /** Reads a slot as four longs: a restore or a block-status scan asks about every slot. */
        private static final java.lang.invoke.VarHandle LONGS = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(
                long[].class, java.nio.ByteOrder.nativeOrder());
        private final StoreBackend backend;
        private final String name;
        private final String what;
        private final int count;
        /** {@link #PAGE_HASH} bytes of each page's SHA-256, from the checked pass at open. */
        private final byte[] pageHashes;
        private final Map<Integer, byte[]> cache = new LinkedHashMap<>(CACHE_PAGES * 2, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
                return size() > CACHE_PAGES;
            }
        };
        private volatile Page last;

        private record Page(int number, byte[] digests) {
        }

        private PagedSlots(StoreBackend backend, String name, String what, int count, byte[] pageHashes) {
            this.backend = backend;
            this.name = name;
            this.what = what;
            this.count = count;
            this.pageHashes = pageHashes;
        }

        static FixedIndex open(StoreBackend backend, String name, String sha256, String what, UncheckedDigests visitor)
                throws IOException {
            int pageBytes = PAGE_DIGESTS * L;
            int blockBytes = OPEN_BLOCK_PAGES * pageBytes;
            Optional<ByteBuffer> first = backend.get(name, 0, HEADER + blockBytes);
            if (first.isEmpty()) {
                throw new CorruptDataException(what + " (" + name + ") is missing");
            }
            ByteBuffer b0 = first.get();
            // the header is trusted only once the whole object's checksum matched; until then it only sizes
            // the page hashes (a damaged count must not make them huge: then none are kept, and the check fails)
            Header h = b0.remaining() >= HEADER ? Header.parse(b0.duplicate()) : null;
            long expected = h == null ? -1 : HEADER + h.count * L;
            long pages = h == null ? -1 : (h.count + PAGE_DIGESTS - 1) / PAGE_DIGESTS;
            // grown as pages arrive, never sized from the unchecked count alone (a damaged one must be an error,
            // not an OutOfMemoryError)
            byte[] pageHashes = pages >= 0 && pages * PAGE_HASH <= Integer.MAX_VALUE && expected >= 0
                    ? new byte[(int) Math.min(pages, 1024) * PAGE_HASH] : null;
            MessageDigest whole = sha256();
            MessageDigest page = sha256();
            Map<Integer, byte[]> seed = new LinkedHashMap<>();
            long total = 0;
            ByteBuffer block = b0;
            for (int k = 0;; k++) {
                int got = block.remaining();
                total += got;
                whole.update(block.duplicate());
                int skip = k == 0 ? Math.min(HEADER, got) : 0;
                ByteBuffer digests = block.duplicate().position(block.position() + skip);
                // the pages of this block, a 64 KiB slice each (the last one of the object may be shorter)
                for (int q = 0; pageHashes != null && digests.hasRemaining(); q++) {
                    long p = (long) k * OPEN_BLOCK_PAGES + q;
                    if (p >= pages) {
                        break; // longer than its header says: the checks below fail it
                    }
                    int n = Math.min(pageBytes, digests.remaining());
                    ByteBuffer pg = digests.duplicate().limit(digests.position() + n);
                    digests.position(digests.position() + n);
                    if (seed.size() < CACHE_PAGES) {
                        byte[] copy = new byte[n];
                        pg.duplicate().get(copy);
                        seed.put((int) p, copy);
                    }
                    page.update(pg.duplicate());
                    if (visitor != null) {
                        byte[] d = new byte[L];
                        while (pg.remaining() >= L) {
                            pg.get(d);
                            visitor.accept(d);
                        }
                    }
                    if ((p + 1) * PAGE_HASH > pageHashes.length) {
                        pageHashes = Arrays.copyOf(pageHashes, (int) Math.min(pages * PAGE_HASH, 2L * pageHashes.length));
                    }
                    System.arraycopy(page.digest(), 0, pageHashes, (int) p * PAGE_HASH, PAGE_HASH);
                }
                int asked = k == 0 ? HEADER + blockBytes : blockBytes;
                if (got < asked) {
                    break;
                }
                Optional<ByteBuffer> next = backend.get(name, HEADER + (long) (k + 1) * blockBytes, blockBytes);
                if (next.isEmpty()) {
                    throw new CorruptDataException(what + " (" + name + ") is missing");
                }
                block = next.get();
            }
            if (!Digests.hex(whole.digest()).equals(sha256)) {
                throw new CorruptDataException(what + " (" + name + ") is damaged or truncated (checksum mismatch)");
            }
            if (h == null || !h.valid()) {
                throw new CorruptDataException(what + ": " + (h == null || !h.magic ? "not a fixed index (bad header)" : "damaged header"));
            }
            if (total != expected || pageHashes == null) {
                throw new CorruptDataException(what + ": truncated or too long (" + total + " bytes for " + h.count + " chunks)");
            }
            PagedSlots s = new PagedSlots(backend, name, what, (int) h.count, pageHashes);
            s.cache.putAll(seed);
            return new FixedIndex(h.size, h.chunkSize, s);
        }

        private record Header(boolean magic, long size, int chunkSize, long count) {
            static Header parse(ByteBuffer b) {
                byte[] m = new byte[MAGIC.length];
                b.get(m);
                long size = b.getLong();
                int chunk = b.getInt();
                b.getInt();
                return new Header(Arrays.equals(m, MAGIC), size, chunk, b.getLong());
            }

            boolean valid() {
                return magic && size >= 0 && chunkSize >= StoreOptions.MIN_CHUNK_SIZE && Integer.bitCount(chunkSize) == 1
                        && count == chunkCount(size, chunkSize) && count <= Integer.MAX_VALUE;
            }
        }

        private byte[] page(int p) throws IOException {
            Page l = last;
            if (l != null && l.number == p) {
                return l.digests;
            }
            byte[] d;
            synchronized (cache) {
                d = cache.get(p);
            }
            if (d == null) {
                d = fetch(p);
                synchronized (cache) {
                    cache.put(p, d);
                }
            }
            last = new Page(p, d);
            return d;
        }

        /** One page by a ranged read (outside the lock: concurrent readers of other pages do not wait). */
        private byte[] fetch(int p) throws IOException {
            int len = (int) Math.min((long) PAGE_DIGESTS, count - (long) p * PAGE_DIGESTS) * L;
            Optional<ByteBuffer> b = backend.get(name, HEADER + (long) p * PAGE_DIGESTS * L, len);
            if (b.isEmpty()) {
                throw new CorruptDataException(what + " (" + name + ") is missing (removed since it was opened)");
            }
            byte[] d = new byte[b.get().remaining()];
            b.get().get(d);
            byte[] h = sha256().digest(d);
            if (d.length != len || !Arrays.equals(h, 0, PAGE_HASH, pageHashes, p * PAGE_HASH, (p + 1) * PAGE_HASH)) {
                throw new CorruptDataException(what + " (" + name + ") changed since it was checked (page " + p + ")");
            }
            return d;
        }

        @Override
        public void get(int i, byte[] dst) throws IOException {
            System.arraycopy(page(i / PAGE_DIGESTS), (i % PAGE_DIGESTS) * L, dst, 0, L);
        }

        @Override
        public boolean isZero(int i) throws IOException {
            byte[] d = page(i / PAGE_DIGESTS);
            int at = (i % PAGE_DIGESTS) * L;
            return ((long) LONGS.get(d, at) | (long) LONGS.get(d, at + 8) | (long) LONGS.get(d, at + 16)
                    | (long) LONGS.get(d, at + 24)) == 0;
        }

        @Override
        public void set(int i, byte[] digest) {
            throw new IllegalStateException("a stored index is read-only");
        }

        @Override
        public void setRun(int first, byte[] digests, int n) {
            throw new IllegalStateException("a stored index is read-only");
        }

        @Override
        public void close() {
            last = null;
            synchronized (cache) {
                cache.clear();
            }
        }
    }
}
