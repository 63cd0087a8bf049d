package org.vmbackup.store;

import java.util.Objects;
import java.util.Optional;

/**
 * How {@link ChunkStore#init} sets a store up.
 *
 * @param chunkSize the chunk size of disks and streams: a power of two from 64 KiB to 16 MiB
 * @param compressionLevel the zstd level, 1 to 19, or {@link #NO_COMPRESSION}: every chunk stored as it is (for
 *     hosts where compressing costs more backup time than the space it saves is worth; FORMAT.md, "config")
 * @param key the key to encrypt with, or empty for a store in the clear
 */
public record StoreOptions(int chunkSize, int compressionLevel, Optional<StoreKey> key) {
    /** The default chunk size, 1 MiB (FORMAT.md, "Chunk size", says why). */
    public static final int DEFAULT_CHUNK_SIZE = 1 << 20;
    /** The smallest chunk size. */
    public static final int MIN_CHUNK_SIZE = 64 << 10;
    /** The largest chunk size. */
    public static final int MAX_CHUNK_SIZE = 16 << 20;
    /** The default zstd level. */
    public static final int DEFAULT_COMPRESSION_LEVEL = 1;
    /** The compression level of a store that keeps every chunk uncompressed. */
    public static final int NO_COMPRESSION = 0;

    /** Checks the invariants. */
    public StoreOptions {
        Objects.requireNonNull(key, "key");
        if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two from 64 KiB to 16 MiB");
        }
        if (compressionLevel < NO_COMPRESSION || compressionLevel > 19) {
            throw new IllegalArgumentException("compression level " + compressionLevel + " is not 1 to 19 (0: none)");
        }
    }

    /** @return 1 MiB chunks, level 1, no encryption */
    public static StoreOptions defaults() {
        return new StoreOptions(DEFAULT_CHUNK_SIZE, DEFAULT_COMPRESSION_LEVEL, Optional.empty());
    }

    /**
     * These options with another chunk size.
     *
     * @param size the chunk size
     * @return the new options
     */
    public StoreOptions withChunkSize(int size) {
        return new StoreOptions(size, compressionLevel, key);
    }

    /**
     * These options with another zstd level.
     *
     * @param level 1 to 19, or {@link #NO_COMPRESSION}
     * @return the new options
     */
    public StoreOptions withCompressionLevel(int level) {
        return new StoreOptions(chunkSize, level, key);
    }

    /**
     * These options encrypting with {@code k}.
     *
     * @param k the key
     * @return the new options
     */
    public StoreOptions withKey(StoreKey k) {
        return new StoreOptions(chunkSize, compressionLevel, Optional.of(k));
    }
}
