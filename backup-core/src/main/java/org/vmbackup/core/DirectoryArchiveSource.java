package org.vmbackup.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.Iterator;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vmbackup.core.internal.CheckedDisk;
import org.vmbackup.core.internal.FileTrees;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;

/**
 * A directory archive as {@link DirectoryArchiveSink} writes it, read back: the manifest gives the layout, each
 * disk is a raw image file of exactly its size. Random access is positional reads. The JDK cannot ask a file for
 * its holes (no {@code SEEK_HOLE}): {@link #read} asks {@code qemu-img map} for them when it can and reads only the
 * data extents; within those (and everywhere for block status) an all-zero 4 KiB block counts as a hole, which is
 * what the sink made of zero ranges in the first place.
 */
final class DirectoryArchiveSource implements ArchiveSource {
    /** Bytes read at once by {@link #read}; also the most a {@link RandomAccessDisk#blockStatus} call scans. */
    private static final int CHUNK = 1 << 20;
    private static final int BLOCK = 4096;
    private static final byte[] ZEROES = new byte[CHUNK];
    /** Bytes read at once by {@link #read} (larger reads, fewer syscalls; two buffers of it). */
    private static final int READ_CHUNK = 4 << 20;
    private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();
    private static final long MAX_MANIFEST = 16L << 20;

    private final Path dir;
    private final ArchiveLayout layout;
    private final long vmstateSize;
    private final List<FileChannel> open = new ArrayList<>();
    private long bytesRead;

    private DirectoryArchiveSource(Path dir, ArchiveLayout layout, long vmstateSize) {
        this.dir = dir;
        this.layout = layout;
        this.vmstateSize = vmstateSize;
    }

    /** Whether {@code dir} looks like a directory archive: a directory with a manifest. */
    static boolean looksLikeOne(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve(DirectoryArchiveSink.MANIFEST));
    }

    /**
     * Reads and checks the manifest and that every file it names exists with the size it says.
     *
     * @throws IOException naming the archive and what is wrong
     */
    static DirectoryArchiveSource open(Path dir) throws IOException {
        Path manifest = dir.resolve(DirectoryArchiveSink.MANIFEST);
        if (Files.size(manifest) > MAX_MANIFEST) {
            throw new IOException("archive " + dir + ": " + DirectoryArchiveSink.MANIFEST + " is over " + MAX_MANIFEST
                    + " bytes");
        }
        String text = Files.readString(manifest, StandardCharsets.UTF_8);
        try {
            JsonObject m = Json.parse(text).asObject();
            String format = member(m, "format").asString();
            long version = member(m, "version").asLong();
            if (!DirectoryArchiveSink.FORMAT.equals(format) || version != 1) {
                throw new IOException("archive " + dir + ": manifest format '" + format + "' version " + version
                        + " is not a " + DirectoryArchiveSink.FORMAT + " version 1 archive");
            }
            UUID uuid = UUID.fromString(member(m, "uuid").asString());
            Instant created = Instant.parse(member(m, "created").asString());
            List<ArchiveDisk> disks = new ArrayList<>();
            for (Json j : member(m, "disks").asArray().values()) {
                JsonObject d = j.asObject();
                ArchiveDisk disk = new ArchiveDisk(member(d, "name").asString(), member(d, "size").asLong());
                checkFile(dir, d, DirectoryArchiveSink.diskFileName(disk.name()), disk.size());
                disks.add(disk);
            }
            long vmstateSize = 0;
            Json v = member(m, "vmstate");
            if (!v.isNull()) {
                vmstateSize = member(v.asObject(), "size").asLong();
                checkFile(dir, v.asObject(), DirectoryArchiveSink.VMSTATE, vmstateSize);
            }
            List<ConfigBlob> configs = new ArrayList<>();
            for (Json j : member(m, "configs").asArray().values()) {
                JsonObject c = j.asObject();
                String name = Names.requireSafe(member(c, "name").asString(), "config name");
                long size = member(c, "size").asLong();
                Path file = checkFile(dir, c, "config/" + name, size);
                configs.add(new ConfigBlob(name, Files.readAllBytes(file)));
            }
            return new DirectoryArchiveSource(dir, new ArchiveLayout(uuid, created, disks, vmstateSize, configs),
                    vmstateSize);
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) { // malformed JSON, a missing or mistyped member, a bad name or size
            throw new IOException("archive " + dir + ": " + DirectoryArchiveSink.MANIFEST + ": " + e.getMessage(), e);
        }
    }

    private static Json member(JsonObject o, String name) {
        Json j = o.members().get(name);
        if (j == null) {
            throw new IllegalArgumentException("member '" + name + "' is missing");
        }
        return j;
    }

    /** The file the manifest entry {@code e} names, after checking it is {@code expected} and {@code size} long. */
    private static Path checkFile(Path dir, JsonObject e, String expected, long size) throws IOException {
        String file = member(e, "file").asString();
        if (!file.equals(expected)) {
            throw new IOException("archive " + dir + ": manifest names file '" + file + "' where '" + expected
                    + "' belongs");
        }
        Path p = dir.resolve(expected);
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("archive " + dir + ": " + expected + " is missing or not a regular file");
        }
        long actual = Files.size(p);
        if (actual != size) {
            throw new IOException("archive " + dir + ": " + expected + " is " + actual + " bytes, the manifest says "
                    + size + (actual < size ? " (truncated)" : ""));
        }
        return p;
    }

    @Override
    public ArchiveLayout layout() {
        return layout;
    }

    @Override
    public boolean randomAccess() {
        return true;
    }

    @Override
    public void read(ArchiveVisitor visitor) throws IOException {
        // Two direct buffers: the next chunk is read on a second thread while this one scans and writes the current
        // one, and direct buffers go to the kernel as they are (a heap array costs a copy on the read and another on
        // the image write).
        ByteBuffer[] bufs = {ByteBuffer.allocateDirect(READ_CHUNK), ByteBuffer.allocateDirect(READ_CHUNK)};
        ExecutorService ahead = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "directory-archive-read-ahead");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = 0; i < layout.disks().size(); i++) {
                ArchiveDisk d = layout.disk(i);
                String name = DirectoryArchiveSink.diskFileName(d.name());
                // only the file's data extents are read: holes are known zero without reading them
                Iterator<long[]> pieces = pieces(dataExtents(diskFile(d), d.size()));
                try (FileChannel ch = FileChannel.open(diskFile(d), StandardOpenOption.READ)) {
                    long[] piece = pieces.hasNext() ? pieces.next() : null;
                    Future<ByteBuffer> next = piece == null ? null
                            : readAhead(ahead, ch, bufs[0], piece, d.size(), name);
                    long covered = 0;
                    for (int k = 0; piece != null; k++) {
                        ByteBuffer cur = await(next);
                        long[] following = pieces.hasNext() ? pieces.next() : null;
                        next = following == null ? null
                                : readAhead(ahead, ch, bufs[(k + 1) & 1], following, d.size(), name);
                        if (piece[0] > covered) {
                            visitor.zero(i, covered, piece[0] - covered);
                        }
                        bytesRead += cur.remaining();
                        runs(visitor, i, piece[0], cur);
                        covered = piece[0] + piece[1];
                        piece = following;
                    }
                    if (covered < d.size()) {
                        visitor.zero(i, covered, d.size() - covered);
                    }
                }
            }
        } finally {
            ahead.shutdownNow();
        }
        if (vmstateSize > 0) {
            ByteBuffer buf = bufs[0];
            try (FileChannel ch = FileChannel.open(dir.resolve(DirectoryArchiveSink.VMSTATE), StandardOpenOption.READ)) {
                for (long pos = 0; pos < vmstateSize; ) {
                    int n = (int) Math.min(READ_CHUNK, vmstateSize - pos);
                    buf.clear().limit(n);
                    readFully(ch, buf, pos, DirectoryArchiveSink.VMSTATE, vmstateSize);
                    bytesRead += n;
                    visitor.vmstate(pos, buf.flip().asReadOnlyBuffer());
                    pos += n;
                }
            }
        }
    }

    private Future<ByteBuffer> readAhead(ExecutorService ahead, FileChannel ch, ByteBuffer buf, long[] piece, long size,
            String file) {
        return ahead.submit(() -> {
            buf.clear().limit((int) piece[1]);
            readFully(ch, buf, piece[0], file, size);
            return buf.flip();
        });
    }

    /** The extents {@code [start, length]} cut into reads of at most {@link #READ_CHUNK} bytes, as they are read. */
    private static Iterator<long[]> pieces(List<long[]> extents) {
        return new Iterator<>() {
            private int e;
            private long at = extents.isEmpty() ? 0 : extents.get(0)[0];

            @Override
            public boolean hasNext() {
                return e < extents.size();
            }

            @Override
            public long[] next() {
                long[] x = extents.get(e);
                long[] piece = {at, Math.min(READ_CHUNK, x[0] + x[1] - at)};
                at += piece[1];
                if (at >= x[0] + x[1] && ++e < extents.size()) {
                    at = extents.get(e)[0];
                }
                return piece;
            }
        };
    }

    /** The most data extents kept for one disk file (16 bytes each). */
    private static final int MAX_EXTENTS = 1 << 18;
    private static final Pattern MAP_LINE = Pattern.compile(
            "\\{\\s*\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),.*\"data\":\\s*(true|false)[,}].*");

    /** How long {@code qemu-img map} may take before the file is read whole instead. */
    private static final long MAP_SECONDS = 60;

    /**
     * The data extents {@code [start, length]} of the raw file, in order, from the file system's holes
     * ({@code SEEK_DATA}/{@code SEEK_HOLE}, which the JDK does not offer) as {@code qemu-img map} reports them; the
     * whole file when qemu-img is not there or says something unexpected (every byte is then read and scanned, as
     * before). A hole reads as zeroes by definition, so skipping it cannot change what the restore writes; data
     * extents are still scanned for all-zero blocks.
     */
    static List<long[]> dataExtents(Path file, long size) {
        List<long[]> whole = size == 0 ? List.of() : List.<long[]>of(new long[] {0, size});
        if (size == 0) {
            return whole;
        }
        Process p = null;
        try {
            p = new ProcessBuilder("qemu-img", "map", "--output=json", "-f", "raw", file.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            // the reads below end when qemu-img exits: a qemu-img that hangs is killed, and the file read whole
            Process started = p;
            java.util.concurrent.CompletableFuture.delayedExecutor(MAP_SECONDS, java.util.concurrent.TimeUnit.SECONDS)
                    .execute(started::destroyForcibly);
            List<long[]> out = new ArrayList<>();
            long expect = 0;
            try (java.io.BufferedReader r = new java.io.BufferedReader(
                    new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    line = line.strip();
                    if (line.isEmpty() || line.equals("[") || line.equals("]")) {
                        continue;
                    }
                    Matcher m = MAP_LINE.matcher(line.startsWith("[") ? line.substring(1) : line);
                    if (!m.matches()) {
                        return whole;
                    }
                    long start = Long.parseLong(m.group(1));
                    long length = Long.parseLong(m.group(2));
                    if (start != expect || length <= 0) {
                        return whole;
                    }
                    expect = start + length;
                    if (m.group(3).equals("true")) {
                        if (out.size() >= MAX_EXTENTS) {
                            return whole; // bounded memory: a file this fragmented is read whole
                        }
                        long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
                        if (last != null && last[0] + last[1] == start) {
                            last[1] += length;
                        } else {
                            out.add(new long[] {start, length});
                        }
                    }
                }
            }
            if (!p.waitFor(MAP_SECONDS, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0 || expect != size) {
                return whole;
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return whole;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return whole;
        } finally {
            if (p != null) {
                p.destroy();
            }
        }
    }

    private static ByteBuffer await(Future<ByteBuffer> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading the archive");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
    }

    /** Passes {@code buf} (position 0), disk bytes from {@code base}, on as runs of data and of all-zero blocks. */
    private static void runs(ArchiveVisitor visitor, int disk, long base, ByteBuffer buf) throws IOException {
        int n = buf.limit();
        int at = 0;
        while (at < n) {
            boolean zero = isZero(buf, at, Math.min(BLOCK, n - at));
            int end = at + BLOCK;
            while (end < n && isZero(buf, end, Math.min(BLOCK, n - end)) == zero) {
                end += BLOCK;
            }
            end = Math.min(end, n);
            if (zero) {
                visitor.zero(disk, base + at, end - at);
            } else {
                visitor.data(disk, base + at, buf.slice(at, end - at).asReadOnlyBuffer());
            }
            at = end;
        }
    }

    private static boolean isZero(ByteBuffer b, int from, int len) {
        return b.slice(from, len).mismatch(ZERO_BLOCK.slice(0, len)) < 0;
    }

    private static boolean isZero(byte[] b, int from, int len) {
        return Arrays.mismatch(b, from, from + len, ZEROES, 0, len) < 0;
    }

    private void readFully(FileChannel ch, ByteBuffer dst, long pos, String file, long size) throws IOException {
        long at = pos;
        while (dst.hasRemaining()) {
            int r = ch.read(dst, at);
            if (r < 0) {
                throw new IOException("archive " + dir + ": " + file + " ends at offset " + at + ", expected " + size
                        + " bytes (truncated)");
            }
            at += r;
        }
    }

    private Path diskFile(ArchiveDisk d) {
        return dir.resolve(DirectoryArchiveSink.diskFileName(d.name()));
    }

    @Override
    public RandomAccessDisk disk(int index) throws IOException {
        ArchiveDisk d = layout.disk(index);
        String file = DirectoryArchiveSink.diskFileName(d.name());
        FileChannel ch = FileChannel.open(diskFile(d), StandardOpenOption.READ);
        synchronized (open) {
            open.add(ch);
        }
        return new CheckedDisk(d) {
            @Override
            protected int readInside(long offset, ByteBuffer dst) throws IOException {
                int n = dst.remaining();
                readFully(ch, dst, offset, file, d.size());
                return n;
            }

            @Override
            protected BlockStatus blockStatusInside(long offset, long length) throws IOException {
                int n = (int) Math.min(length, CHUNK);
                byte[] buf = new byte[n];
                readFully(ch, ByteBuffer.wrap(buf), offset, file, d.size());
                // the first block is measured from offset; later ones from their 4 KiB boundary
                int first = (int) Math.min(n, BLOCK - (offset & (BLOCK - 1)));
                boolean zero = isZero(buf, 0, first);
                int end = first;
                while (end < n && isZero(buf, end, Math.min(BLOCK, n - end)) == zero) {
                    end += BLOCK;
                }
                return new BlockStatus(offset, Math.min(end, n), zero);
            }
        };
    }

    @Override
    public ReadableByteChannel vmstate() throws IOException {
        if (vmstateSize == 0) {
            throw new IOException("archive " + dir + " has no VM state");
        }
        return FileChannel.open(dir.resolve(DirectoryArchiveSink.VMSTATE), StandardOpenOption.READ);
    }

    @Override
    public long bytesRead() {
        return bytesRead;
    }

    @Override
    public String describe() {
        return dir.toString();
    }

    @Override
    public void close() {
        synchronized (open) {
            for (FileChannel ch : open) {
                FileTrees.closeQuietly(ch);
            }
            open.clear();
        }
    }
}
