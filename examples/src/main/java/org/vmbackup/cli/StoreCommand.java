package org.vmbackup.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.SnapshotId;
import org.vmbackup.store.StoreBackend;
import org.vmbackup.store.StoreException;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;
import org.vmbackup.store.s3.S3Backend;
import org.vmbackup.store.s3.S3Location;
import org.vmbackup.store.s3.S3Options;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup store}: create and look after a deduplicating chunk store (init, key create, list, verify,
 * prune, gc). Backups go into a store with {@code backup --store}, restores come out of it with
 * {@code restore STORE --snapshot ID}.
 */
@Command(name = "store", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Create and look after a deduplicating chunk store of VM snapshots.",
        subcommands = {StoreInitCommand.class, StoreKeyCommand.class, StoreListCommand.class, StoreVerifyCommand.class,
            StorePruneCommand.class, StoreGcCommand.class, StoreExportCommand.class,
            StoreImportCommand.class})
public final class StoreCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (init, key, list, verify, "
                + "prune, gc)");
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
        return S3Backend.open(where, S3Options.fromEnvironment().withBandwidthLimit(bwlimit));
    }

    /** Turns {@code VM/INSTANT} arguments into snapshot ids; a bad one is a usage error naming what is wrong. */
    static final class SnapshotIdConverter {
        SnapshotId convert(String value, CommandLine cmd) {
            try {
                return SnapshotId.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
        }
    }
}
