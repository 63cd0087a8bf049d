package org.vmbackup.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.StoreBackend;
import org.vmbackup.store.StoreException;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.store.s3.S3Backend;
import org.vmbackup.store.s3.S3Location;
import org.vmbackup.store.s3.S3Options;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The store a {@code store} subcommand works on: the {@code STORE} argument (first), {@code --key}, and opening it,
 * a directory or an {@code s3://} location. The commands that name a store by an option ({@code backup --store},
 * {@code nbd serve --store}, {@code restore --snapshot}) open theirs with {@link #open(String, Path)}.
 */
class StoreLocation {
    @Parameters(index = "0", paramLabel = "STORE", description = "the store's directory or s3://BUCKET/PREFIX")
    private String store;

    @Option(names = "--key", paramLabel = "FILE", description = "the key of an encrypted store")
    private Path key;

    /** The STORE argument as given, for messages. */
    String location() {
        return store;
    }

    /** The --key file, or null. */
    Path key() {
        return key;
    }

    /** Opens the store with the key, if given. */
    ChunkStore open() throws IOException {
        return open(store, key, 0);
    }

    /**
     * The store of a subcommand that moves snapshot data (export, import, verify): {@code --bwlimit} as well, which
     * {@link #open()} applies to an {@code s3://} store's transfers.
     */
    static final class Limited extends StoreLocation {
        @Option(names = "--bwlimit", paramLabel = "RATE", converter = BandwidthConverter.class, defaultValue = "0",
                description = "limit the transfers to and from an s3:// store (uploads and downloads together) to "
                        + "RATE: " + BandwidthConverter.HELP)
        private long bwlimit;

        @Override
        ChunkStore open() throws IOException {
            return open(location(), key(), bwlimit);
        }
    }

    /**
     * Opens the store at {@code store} (a directory, or {@code s3://BUCKET/PREFIX} with endpoint and credentials
     * from the AWS environment) with the key in {@code keyFile}, if given.
     */
    static ChunkStore open(String store, Path keyFile) throws IOException {
        return open(store, keyFile, 0);
    }

    /**
     * {@link #open(String, Path)}, with the transfers to and from an {@code s3://} store (uploads and downloads
     * together) held to {@code bwlimit} bytes per second (0: no limit). A limit for a directory store is refused:
     * it would limit nothing.
     */
    static ChunkStore open(String store, Path keyFile, long bwlimit) throws IOException {
        if (bwlimit > 0 && !S3Location.isS3(store)) {
            throw new StoreException("--bwlimit limits transfers to and from an s3:// store; " + store
                    + " is a directory");
        }
        Optional<StoreKey> key = keyFile == null ? Optional.empty() : Optional.of(StoreKey.load(keyFile));
        if (S3Location.isS3(store)) {
            return ChunkStore.open(backend(store, bwlimit), key);
        }
        return ChunkStore.open(Path.of(store), key);
    }

    /** Creates a store at {@code store} (a directory or an {@code s3://} location, as {@link #open}). */
    static ChunkStore init(String store, StoreOptions options) throws IOException {
        if (S3Location.isS3(store)) {
            return ChunkStore.init(backend(store, 0), options);
        }
        return ChunkStore.init(Path.of(store), options);
    }

    private static StoreBackend backend(String store, long bwlimit) throws IOException {
        S3Location where;
        try {
            where = S3Location.parse(store);
        } catch (IllegalArgumentException e) {
            throw new StoreException(e.getMessage()); // a usage error in words, reported like any store error
        }
        StoreBackend early = S3EarlyOpen.take(store, bwlimit); // opened since the command started, if it was
        return early != null ? early : S3Backend.open(where, S3Options.fromEnvironment().withBandwidthLimit(bwlimit));
    }
}
