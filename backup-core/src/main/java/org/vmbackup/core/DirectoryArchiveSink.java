package org.vmbackup.core;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.internal.FileTrees;
import org.vmbackup.core.internal.JsonText;
import org.vmbackup.core.internal.WrittenMap;

/**
 * An archive that is a plain directory: one sparse raw image per disk ({@code disk-<name>.raw}, exact size),
 * the VM state stream as {@code vmstate.bin}, config blobs under {@code config/}, and a {@code manifest.json}
 * describing them. Written under a hidden temporary sibling name and renamed to the final name on commit, so
 * the final name only ever holds a complete archive.
 */
public final class DirectoryArchiveSink implements ArchiveSink {
    /** The value of the manifest's {@code format} member. */
    public static final String FORMAT = "vmbackup-directory";
    /** The manifest file name. */
    public static final String MANIFEST = "manifest.json";
    /** The VM state file name. */
    public static final String VMSTATE = "vmstate.bin";

    private static final Logger log = LoggerFactory.getLogger(DirectoryArchiveSink.class);
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(WrittenMap.CHUNK).asReadOnlyBuffer();

    private final Path finalDir;
    private final Path tempDir;
    private final ArchiveLayout layout;
    private final List<FileChannel> disks = new ArrayList<>();
    private final List<WrittenMap> written = new ArrayList<>();
    private final FileChannel vmstate;
    private final AtomicBoolean vmstateOpened = new AtomicBoolean();
    private final AtomicBoolean finished = new AtomicBoolean();

    private DirectoryArchiveSink(Path finalDir, Path tempDir, ArchiveLayout layout) throws IOException {
        this.finalDir = finalDir;
        this.tempDir = tempDir;
        this.layout = layout;
        for (ArchiveDisk d : layout.disks()) {
            Path file = tempDir.resolve(diskFileName(d.name()));
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(d.size()); // sparse: untouched ranges read as zero and take no space
            }
            disks.add(FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.READ));
            written.add(new WrittenMap(d.size()));
        }
        vmstate = layout.hasVmstate()
                ? FileChannel.open(tempDir.resolve(VMSTATE), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                : null;
        if (!layout.configs().isEmpty()) {
            Path configDir = Files.createDirectory(tempDir.resolve("config"));
            for (ConfigBlob c : layout.configs()) {
                Files.write(configDir.resolve(c.name()), c.content(), StandardOpenOption.CREATE_NEW);
            }
        }
    }

    /**
     * Creates the temporary directory next to {@code dir} and the files in it.
     *
     * @throws FileAlreadyExistsException when {@code dir} exists
     * @throws IOException when the files cannot be created
     */
    public static DirectoryArchiveSink open(Path dir, ArchiveLayout layout) throws IOException {
        Path finalDir = dir.toAbsolutePath().normalize();
        if (Files.exists(finalDir)) {
            throw new FileAlreadyExistsException(finalDir.toString(), null, "archive directory already exists");
        }
        Path temp = finalDir.resolveSibling("." + finalDir.getFileName() + ".part-" + UUID.randomUUID());
        Files.createDirectory(temp);
        try {
            return new DirectoryArchiveSink(finalDir, temp, layout);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(temp);
            throw e;
        }
    }

    /** The file name of the raw image of disk {@code name}. */
    public static String diskFileName(String name) {
        return "disk-" + name + ".raw";
    }

    @Override
    public void write(int disk, long offset, ByteBuffer data) throws IOException {
        int length = data.remaining();
        FileChannel ch = channel(disk, offset, length);
        written.get(disk).markWritten(offset, length);
        long pos = offset;
        while (data.hasRemaining()) {
            pos += ch.write(data, pos);
        }
    }

    @Override
    public void writeZeroes(int disk, long offset, long length) throws IOException {
        FileChannel ch = channel(disk, offset, length);
        if (!written.get(disk).anyWritten(offset, length)) {
            return; // a fresh sparse file already reads zero there
        }
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            ByteBuffer z = ZEROES.duplicate();
            z.limit((int) Math.min(z.capacity(), end - pos));
            while (z.hasRemaining()) {
                pos += ch.write(z, pos);
            }
        }
    }

    private FileChannel channel(int disk, long offset, long length) throws IOException {
        if (disk < 0 || disk >= disks.size()) {
            throw new IOException("no disk number " + disk + " in archive " + finalDir + " (it has " + disks.size()
                    + ")");
        }
        long size = layout.disk(disk).size();
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new IOException("disk " + layout.disk(disk).name() + ": range at offset " + offset + " length "
                    + length + " is outside the disk (size " + size + ")");
        }
        return disks.get(disk);
    }

    @Override
    public WritableByteChannel vmstateChannel() throws IOException {
        if (vmstate == null) {
            throw new IOException("archive " + finalDir + " was opened without a VM state");
        }
        if (!vmstateOpened.compareAndSet(false, true)) {
            throw new IOException("the VM state stream of " + finalDir + " was already opened");
        }
        return new WritableByteChannel() {
            private volatile boolean open = true;

            @Override
            public int write(ByteBuffer src) throws IOException {
                if (!open) {
                    throw new IOException("the VM state stream of " + finalDir + " is closed");
                }
                return vmstate.write(src);
            }

            @Override
            public boolean isOpen() {
                return open && vmstate.isOpen();
            }

            @Override
            public void close() {
                open = false; // the file itself is flushed and closed by commit or abort
            }
        };
    }

    @Override
    public void commit() throws IOException {
        if (!finished.compareAndSet(false, true)) {
            throw new IOException("archive " + finalDir + " was already committed or aborted");
        }
        try {
            long vmstateSize = 0;
            for (FileChannel ch : disks) {
                ch.force(true);
                ch.close();
            }
            if (vmstate != null) {
                vmstate.force(true);
                vmstateSize = vmstate.size();
                vmstate.close();
            }
            Files.writeString(tempDir.resolve(MANIFEST), manifest(vmstateSize), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            if (Files.exists(finalDir)) {
                throw new FileAlreadyExistsException(finalDir.toString(), null, "appeared during the backup");
            }
            Files.move(tempDir, finalDir, StandardCopyOption.ATOMIC_MOVE);
            FileTrees.syncDirectory(finalDir.getParent());
        } catch (IOException | RuntimeException e) {
            closeAll();
            FileTrees.deleteQuietly(tempDir);
            throw e;
        }
    }

    private String manifest(long vmstateSize) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("version", 1);
        m.put("uuid", layout.uuid().toString());
        m.put("created", layout.created().toString());
        List<Object> ds = new ArrayList<>();
        for (ArchiveDisk d : layout.disks()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", d.name());
            e.put("size", d.size());
            e.put("file", diskFileName(d.name()));
            ds.add(e);
        }
        m.put("disks", ds);
        if (vmstate != null) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("file", VMSTATE);
            v.put("size", vmstateSize);
            m.put("vmstate", v);
        } else {
            m.put("vmstate", null);
        }
        List<Object> cs = new ArrayList<>();
        for (ConfigBlob c : layout.configs()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", c.name());
            e.put("file", "config/" + c.name());
            e.put("size", c.size());
            cs.add(e);
        }
        m.put("configs", cs);
        return JsonText.write(m);
    }

    @Override
    public void abort() {
        if (finished.compareAndSet(false, true)) {
            closeAll();
            FileTrees.deleteQuietly(tempDir);
            log.debug("aborted directory archive {}", finalDir);
        }
    }

    private void closeAll() {
        for (FileChannel ch : disks) {
            FileTrees.closeQuietly(ch);
        }
        if (vmstate != null) {
            FileTrees.closeQuietly(vmstate);
        }
    }

    @Override
    public String describe() {
        return finalDir.toString();
    }
}
