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
import org.vmbackup.core.internal.CheckedDisk;
import org.vmbackup.core.internal.FileTrees;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonObject;

/**
 * A directory archive as {@link DirectoryArchiveSink} writes it, read back: the manifest gives the layout, each
 * disk is a raw image file of exactly its size. Random access is positional reads. The JDK cannot ask a file for
 * its holes (no {@code SEEK_HOLE}): {@link #read} asks {@code qemu-img map} for them when it can
 * ({@link RawDataExtents}) and reads only the data extents ({@link DirectoryDiskReader}); within those (and everywhere for block status) an all-zero 4 KiB block counts as a hole, which is
 * what the sink made of zero ranges in the first place.
 */
final class DirectoryArchiveSource implements ArchiveSource {
    /** The most a {@link RandomAccessDisk#blockStatus} call reads and scans. */
    private static final int CHUNK = 1 << 20;
    private static final int BLOCK = 4096;
    private static final byte[] ZEROES = new byte[CHUNK];
    /** Bytes of VM state read at once by {@link #read}. */
    private static final int READ_CHUNK = 4 << 20;
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
        try (DirectoryDiskReader reader = new DirectoryDiskReader()) {
            try {
                for (int i = 0; i < layout.disks().size(); i++) {
                    ArchiveDisk d = layout.disk(i);
                    String name = DirectoryArchiveSink.diskFileName(d.name());
                    // only the file's data extents are read: holes are known zero without reading them
                    List<long[]> extents = RawDataExtents.of(diskFile(d), d.size());
                    try (FileChannel ch = FileChannel.open(diskFile(d), StandardOpenOption.READ)) {
                        reader.copy(ch, extents, d.size(), i, visitor, (c, dst, pos) -> readFully(c, dst, pos, name,
                                d.size()));
                    }
                }
            } finally {
                bytesRead += reader.bytesRead();
            }
        }
        if (vmstateSize > 0) {
            ByteBuffer buf = ByteBuffer.allocateDirect(READ_CHUNK);
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
