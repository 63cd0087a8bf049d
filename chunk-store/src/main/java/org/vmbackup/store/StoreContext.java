package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** What the parts of one open store share: backend, config, codec, keys and the worker threads. */
final class StoreContext implements AutoCloseable {
    final StoreBackend backend;
    final StoreConfig config;
    final ChunkCodec codec;
    /** Key of the manifests' HMAC, null for a plain store. */
    final byte[] manifestKey;
    /** Encodes, stores, fetches and decodes chunks; its size bounds the scratch memory. */
    final ExecutorService workers;
    final int threads;

    StoreContext(StoreBackend backend, StoreConfig config, Optional<StoreKey> key) {
        this.backend = backend;
        this.config = config;
        this.codec = new ChunkCodec(config.chunkSize(), config.compressionLevel(), key);
        this.manifestKey = key.map(k -> k.derive("manifest")).orElse(null);
        // CPU-bound locally (hashing, zstd, AES); on a remote backend each request mostly waits for its round trip
        this.threads = Math.max(Math.max(2, Runtime.getRuntime().availableProcessors()), backend.parallelism());
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "chunk-store-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // twice as many workers as cores: a worker blocks in write(2) of its chunk file (the kernel throttles a
        // writer of many dirty pages) for longer than it hashes and compresses (JFR: 169 samples in write0 against
        // 74 in zstd and 40 in SHA-256 per 1 GiB), and meanwhile another one keeps the core busy
        this.workers = new ThreadPoolExecutor(2 * threads, 2 * threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), tf);
        ((ThreadPoolExecutor) workers).allowCoreThreadTimeOut(true);
    }

    String where() {
        return backend.describe();
    }

    /** Fetches, decrypts, decompresses and checks one chunk; {@code place} names where it is needed. */
    byte[] readChunk(byte[] digest, String place) throws IOException {
        String name = Digests.chunkName(digest);
        Optional<ByteBuffer> obj = backend.get(name);
        if (obj.isEmpty()) {
            throw new CorruptDataException("chunk " + Digests.hex(digest) + " (" + place + ") is missing from store " + where());
        }
        try {
            return codec.decode(digest, obj.get());
        } catch (CorruptDataException e) {
            throw new CorruptDataException("chunk " + Digests.hex(digest) + " (" + place + ") is " + e.getMessage());
        }
    }

    /** Reads an index object and checks it against the SHA-256 its manifest records. */
    byte[] readChecked(String name, String sha256, String what) throws IOException {
        Optional<ByteBuffer> b = backend.get(name);
        if (b.isEmpty()) {
            throw new CorruptDataException(what + " (" + name + ") is missing");
        }
        byte[] data = new byte[b.get().remaining()];
        b.get().get(data);
        if (!Digests.hex(Digests.sha256(data, 0, data.length)).equals(sha256)) {
            throw new CorruptDataException(what + " (" + name + ") is damaged or truncated (checksum mismatch)");
        }
        return data;
    }

    Manifest readManifest(SnapshotId id) throws IOException {
        return readManifestIfPresent(id).orElseThrow(
                () -> new StoreException("snapshot " + id + " does not exist in store " + where()));
    }

    /** The snapshot's manifest, checked; empty when there is none (never committed, or pruned meanwhile). */
    Optional<Manifest> readManifestIfPresent(SnapshotId id) throws IOException {
        Optional<ByteBuffer> b = backend.get(Manifest.objectName(id));
        if (b.isEmpty()) {
            return Optional.empty();
        }
        byte[] data = new byte[b.get().remaining()];
        b.get().get(data);
        return Optional.of(Manifest.decode(data, id, manifestKey));
    }

    FixedIndex readDiskIndex(Manifest m, int disk) throws IOException {
        return readDiskIndex(m, disk, null);
    }

    /** {@link #readDiskIndex}, showing {@code visitor} the digests as they are checked (FixedIndex.open). */
    FixedIndex readDiskIndex(Manifest m, int disk, FixedIndex.UncheckedDigests visitor) throws IOException {
        Manifest.DiskEntry e = m.disks().get(disk);
        String what = "snapshot " + m.id() + ": index of disk " + e.name();
        // checked in one streaming pass, then read by pages: never the whole index on the heap (FixedIndex)
        FixedIndex idx = FixedIndex.open(backend, Manifest.dir(m.id()) + e.index(), e.indexSha256(), what, visitor);
        if (idx.size() != e.size() || idx.chunkSize() != e.chunkSize()) {
            idx.close();
            throw new CorruptDataException(what + " does not match the manifest (size or chunk size)");
        }
        return idx;
    }

    StreamIndex readStreamIndex(Manifest m, Manifest.StreamEntry e, String label) throws IOException {
        String what = "snapshot " + m.id() + ": index of " + label;
        StreamIndex idx = StreamIndex.decode(readChecked(Manifest.dir(m.id()) + e.index(), e.indexSha256(), what), what,
                config.chunkSize());
        if (idx.length() != e.size()) {
            throw new CorruptDataException(what + " does not match the manifest (length)");
        }
        return idx;
    }

    @Override
    public void close() throws IOException {
        workers.shutdown();
        codec.close();
        backend.close();
    }
}
