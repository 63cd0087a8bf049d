package org.vmbackup.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.vmbackup.store.ChunkStore;
import org.vmbackup.store.StoreKey;
import org.vmbackup.store.StoreOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmabackup store init STORE [--chunk-size SIZE] [--encrypt KEYFILE]}. */
@Command(name = "init", mixinStandardHelpOptions = true,
        description = "Create an empty store in directory STORE (created if missing; must be empty if it exists), "
                + "or at s3://BUCKET/PREFIX (endpoint and credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).")
final class StoreInitCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STORE", description = "the store's directory or s3://BUCKET/PREFIX")
    private String store;

    @Option(names = "--chunk-size", paramLabel = "SIZE", converter = NbdSizeConverter.class,
            description = "chunk size, a power of two from 64K to 16M (default 1M)")
    private long chunkSize = StoreOptions.DEFAULT_CHUNK_SIZE;

    @Option(names = "--encrypt", paramLabel = "KEYFILE",
            description = "encrypt with the key in KEYFILE (made by 'store key create')")
    private Path keyFile;

    @Override
    public Integer call() throws Exception {
        StoreOptions options;
        try {
            options = StoreOptions.defaults().withChunkSize((int) Math.min(Integer.MAX_VALUE, chunkSize));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--chunk-size: " + e.getMessage());
        }
        if (keyFile != null) {
            options = options.withKey(StoreKey.load(keyFile));
        }
        try (ChunkStore s = StoreLocation.init(store, options)) {
            spec.commandLine().getOut().println("initialized store " + store + " (chunk size " + s.chunkSize() + " bytes, "
                    + (s.encrypted() ? "encrypted" : "not encrypted") + ")");
        }
        return ExitCode.OK;
    }
}
