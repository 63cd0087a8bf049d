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

/** {@code vmabackup store init STORE [--chunk-size SIZE] [--compression zstd|none] [--compression-level N] [--encrypt KEYFILE]}. */
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

    @Option(names = "--compression", paramLabel = "zstd|none",
            description = "zstd (default) compresses every chunk that shrinks; none stores chunks as they are: "
                    + "backups take less CPU, the store more space")
    private String compression = "zstd";

    @Option(names = "--compression-level", paramLabel = "N", description = "the zstd level, 1 to 19 (default 1)")
    private Integer level;

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
        switch (compression) {
            case "zstd" -> {
                try {
                    options = options.withCompressionLevel(level == null ? StoreOptions.DEFAULT_COMPRESSION_LEVEL : level);
                    if (level != null && level == StoreOptions.NO_COMPRESSION) {
                        throw new IllegalArgumentException("compression level 0 is not 1 to 19 (for none: --compression none)");
                    }
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--compression-level: " + e.getMessage());
                }
            }
            case "none" -> {
                if (level != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--compression-level goes with --compression zstd, not none");
                }
                options = options.withCompressionLevel(StoreOptions.NO_COMPRESSION);
            }
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--compression: '" + compression + "' is not zstd or none");
        }
        if (keyFile != null) {
            options = options.withKey(StoreKey.load(keyFile));
        }
        try (ChunkStore s = StoreLocation.init(store, options)) {
            spec.commandLine().getOut().println("initialized store " + store + " (chunk size " + s.chunkSize() + " bytes, "
                    + (s.encrypted() ? "encrypted" : "not encrypted") + ", "
                    + (s.compressionLevel() == StoreOptions.NO_COMPRESSION ? "not compressed" : "zstd level " + s.compressionLevel()) + ")");
        }
        return ExitCode.OK;
    }
}
