package org.vmbackup.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaWriter;
import org.vmbackup.vma.VmaWriterStats;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmabackup vma create ARCHIVE [-c CONFIGFILE]... [-d [format=raw:]DEVNAME=PATH]... [[DEVNAME=]PATH]...}:
 * an archive from raw images (compressed by name: .zst, .gz). Images are read by several threads in 4 MiB chunks.
 */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = "Create an archive (.vma, .vma.zst, .vma.gz) from config files and raw images.")
final class VmaCreateCommand implements Callable<Integer> {
    private static final int CHUNK = 4 << 20;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ARCHIVE", description = "the archive to create (must not exist)")
    private Path archive;

    @Parameters(index = "1..*", paramLabel = "[DEVNAME=]PATH", description = "images (old form; default names disk0...)")
    private List<String> positional = new ArrayList<>();

    @Option(names = "-c", paramLabel = "CONFIGFILE", description = "a config file, stored under its base name")
    private List<Path> configs = new ArrayList<>();

    @Option(names = "-d", paramLabel = "[format=raw:]DEVNAME=PATH", description = "a raw image as device DEVNAME")
    private List<String> devices = new ArrayList<>();

    @Option(names = "-v", description = "print a summary on stderr")
    private boolean verbose;

    @Option(names = "--threads", defaultValue = "2",
            description = "image reader threads, 1 to 16 (default: ${DEFAULT-VALUE})")
    private int threads;

    private record Image(String name, Path path, long size) {
    }

    private record Chunk(Image image, VmaDevice device, long offset) {
    }

    @Override
    public Integer call() throws Exception {
        if (!devices.isEmpty() && !positional.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "-d and positional DEVNAME=PATH arguments cannot be mixed");
        }
        OptionChecks.range(spec, "--threads", threads, 1, 16);
        List<Image> images = new ArrayList<>();
        for (String d : devices) {
            String spec1 = d;
            if (spec1.startsWith("format=")) {
                int colon = spec1.indexOf(':');
                String format = spec1.substring(7, colon < 0 ? spec1.length() : colon);
                if (!format.equals("raw") || colon < 0) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "unsupported device spec '" + d + "' (only format=raw)");
                }
                spec1 = spec1.substring(colon + 1);
            }
            int eq = spec1.indexOf('=');
            if (eq <= 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "device spec '" + d + "' is not DEVNAME=PATH");
            }
            images.add(image(spec1.substring(0, eq), Path.of(spec1.substring(eq + 1))));
        }
        for (int i = 0; i < positional.size(); i++) {
            String p = positional.get(i);
            int eq = p.indexOf('=');
            images.add(eq > 0 ? image(p.substring(0, eq), Path.of(p.substring(eq + 1)))
                    : image("disk" + i, Path.of(p)));
        }
        VmaWriter.Builder b = VmaWriter.builder();
        for (Path c : configs) {
            InputPaths.readable("config file", c);
            b.config(c.getFileName().toString(), Files.readAllBytes(c));
        }
        InputPaths.creatable("archive", archive);
        images.forEach(img -> b.disk(img.name(), img.size()));
        VmaWriter w = b.open(archive);
        try {
            copy(w, images);
            w.close();
        } catch (Exception | Error e) {
            w.abort();
            throw e;
        }
        if (verbose) {
            PrintWriter err = spec.commandLine().getErr();
            VmaWriterStats s = w.stats();
            s.devices().forEach(d -> err.printf("image %s: size=%d zeros=%d stored=%d%n", d.device().name(),
                    d.device().size(), d.zeroBytes(), d.storedBytes()));
            err.flush();
        }
        return ExitCode.OK;
    }

    private static Image image(String name, Path path) throws IOException {
        InputPaths.readable("image", path);
        long size = Files.size(path);
        if (size == 0) {
            throw new IllegalArgumentException("image " + path + " is empty");
        }
        return new Image(name, path, (size + 511) & ~511L); // like the reference: whole 512-byte sectors
    }

    /** Reads all images in 4 MiB chunks on a few threads and hands them to the writer. */
    private void copy(VmaWriter w, List<Image> images) throws Exception {
        List<Chunk> chunks = new ArrayList<>();
        for (Image img : images) {
            for (long off = 0; off < img.size(); off += CHUNK) {
                chunks.add(new Chunk(img, w.device(img.name()), off));
            }
        }
        AtomicLong next = new AtomicLong();
        int n = threads;
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "vma-create-reader");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    readChunks(w, chunks, next);
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof Exception ex) {
                        throw ex;
                    }
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void readChunks(VmaWriter w, List<Chunk> chunks, AtomicLong next) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        Path open = null;
        FileChannel ch = null;
        try {
            for (long i = next.getAndIncrement(); i < chunks.size(); i = next.getAndIncrement()) {
                Chunk c = chunks.get((int) i);
                if (!c.image().path().equals(open)) {
                    if (ch != null) {
                        ch.close();
                    }
                    ch = FileChannel.open(c.image().path(), StandardOpenOption.READ);
                    open = c.image().path();
                }
                int len = (int) Math.min(CHUNK, c.image().size() - c.offset());
                buf.clear().limit(len);
                try {
                    while (buf.hasRemaining()) {
                        if (ch.read(buf, c.offset() + buf.position()) < 0) {
                            while (buf.hasRemaining()) {
                                buf.put((byte) 0); // sector padding past the end of the file
                            }
                        }
                    }
                } catch (IOException e) {
                    // the OS says "Input/output error" without a path: say which image, and where
                    throw new CliFailure("cannot read image " + open + " at offset " + (c.offset() + buf.position())
                            + ": " + FailureMessages.reason(e), e);
                }
                buf.flip();
                w.write(c.device(), c.offset(), buf);
            }
        } finally {
            if (ch != null) {
                ch.close();
            }
        }
    }
}
