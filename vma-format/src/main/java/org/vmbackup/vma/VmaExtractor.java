package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Extracts an archive into a new directory like the reference {@code vma extract}: configs under their names,
 * each disk as a sparse {@code disk-<name>.raw} of the exact size (written as {@code tmp-disk-<name>.raw} and renamed
 * once the whole archive checked out), the vmstate stream as {@code vmstate.bin}. Names are untrusted: a name that
 * is not a plain file name is refused before anything is written.
 */
public final class VmaExtractor {
    private VmaExtractor() {
    }

    /**
     * Extracts everything (or only the named devices) from {@code reader} into {@code targetDir}, which must not exist.
     *
     * @param onlyDevices device names to extract; empty means all (others are read and checked, not written)
     * @param info receives the reference's {@code DEVINFO <path> <size>} lines
     * @throws VmaFormatException if the archive is bad, incomplete, or has an unsafe name; partial disk files are
     *     removed
     */
    public static VmaExtractResult extract(VmaReader reader, Path targetDir, Set<String> onlyDevices,
            Consumer<String> info) throws IOException {
        VmaHeader h = reader.header();
        Path dir = targetDir.toAbsolutePath().normalize();
        Set<String> unknown = new HashSet<>(onlyDevices);
        List<Path> configPaths = new ArrayList<>();
        Set<Path> taken = new HashSet<>();
        for (VmaConfig c : h.configs()) {
            Path p = SafeNames.resolve(dir, "", c.name(), "", "config");
            if (!taken.add(p)) {
                throw new VmaFormatException("two configs named '" + c.name() + "' in the archive");
            }
            configPaths.add(p);
        }
        Target[] targets = new Target[256];
        List<Target> list = new ArrayList<>();
        for (VmaDevice d : h.devices()) {
            unknown.remove(d.name());
            if (!onlyDevices.isEmpty() && !onlyDevices.contains(d.name())) {
                continue;
            }
            Target t = d.isVmstate() ? new Target(d, dir.resolve("vmstate.bin"), null)
                    : new Target(d, SafeNames.resolve(dir, "tmp-disk-", d.name(), ".raw", "device"),
                            SafeNames.resolve(dir, "disk-", d.name(), ".raw", "device"));
            if (!taken.add(t.temp) || (t.finalPath != null && !taken.add(t.finalPath))) {
                throw new VmaFormatException("device name '" + d.name() + "' collides with another file name");
            }
            targets[d.id()] = t;
            list.add(t);
        }
        if (!unknown.isEmpty()) {
            throw new VmaFormatException("no device named " + String.join(", ", unknown) + " in the archive");
        }
        if (Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(dir.toString(), null, "target directory already exists");
        }
        Files.createDirectory(dir);
        List<Path> written = new ArrayList<>();
        for (int i = 0; i < configPaths.size(); i++) {
            Files.write(configPaths.get(i), h.configs().get(i).data(), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            written.add(configPaths.get(i));
        }
        boolean ok = false;
        try {
            for (Target t : list) {
                t.open();
                if (t.finalPath != null) {
                    info.accept("DEVINFO " + t.temp + " " + t.device.size());
                }
            }
            reader.readAll((dev, cluster, mask, blocks) -> {
                Target t = targets[dev.id()];
                if (t != null) {
                    t.write(cluster, mask, blocks);
                }
            });
            long deviceBytes = 0;
            long stored = 0;
            for (Target t : list) {
                t.finish();
                if (!t.device.isVmstate()) {
                    deviceBytes += t.device.size();
                    stored += t.storedBytes;
                }
                written.add(t.finalPath == null ? t.temp : t.finalPath);
            }
            ok = true;
            return new VmaExtractResult(written, reader.position(), deviceBytes, deviceBytes - stored);
        } finally {
            if (!ok) {
                for (Target t : list) {
                    t.discard();
                }
            }
        }
    }

    /** One output file being filled by position, under a temporary name for disks ({@link ArchiveFile}). */
    private static final class Target {
        final VmaDevice device;
        final Path temp;
        final Path finalPath;
        ArchiveFile file;
        FileChannel channel;
        long storedBytes;
        long vmstateEnd;

        Target(VmaDevice device, Path temp, Path finalPath) {
            this.device = device;
            this.temp = temp;
            this.finalPath = finalPath;
        }

        void open() throws IOException {
            file = ArchiveFile.create(finalPath == null ? temp : finalPath, temp, "disk image");
            channel = file.channel();
            if (!device.isVmstate()) {
                try (RandomAccessFile f = new RandomAccessFile(temp.toFile(), "rw")) {
                    f.setLength(device.size()); // sparse at the exact size
                }
            }
        }

        /** Writes each run of consecutive stored blocks with one positional write, clipped to the device end. */
        void write(long cluster, int mask, ByteBuffer blocks) throws IOException {
            long base = cluster << CLUSTER_SHIFT;
            long limit = device.isVmstate() ? Long.MAX_VALUE : device.size();
            int src = 0;
            int m = mask;
            while (m != 0) {
                int j = Integer.numberOfTrailingZeros(m);
                int run = Integer.numberOfTrailingZeros(~(m >>> j));
                m &= ~(((1 << run) - 1) << j);
                long at = base + (long) j * BLOCK_SIZE;
                long len = Math.min((long) run * BLOCK_SIZE, limit - at);
                if (len > 0) {
                    ByteBuffer slice = blocks.slice(src, (int) len);
                    long pos = at;
                    while (slice.hasRemaining()) {
                        pos += channel.write(slice, pos);
                    }
                    storedBytes += len;
                }
                src += run * BLOCK_SIZE;
            }
            if (device.isVmstate()) {
                vmstateEnd = Math.max(vmstateEnd, base + CLUSTER_SIZE);
            }
        }

        void finish() throws IOException {
            if (device.isVmstate()) {
                try (RandomAccessFile f = new RandomAccessFile(temp.toFile(), "rw")) {
                    f.setLength(Math.max(f.length(), vmstateEnd)); // position-faithful, zero clusters kept
                }
            }
            file.commit(); // the vmstate stream is written in place: nothing to rename
        }

        void discard() {
            if (file != null) {
                file.discard();
            }
        }
    }
}
