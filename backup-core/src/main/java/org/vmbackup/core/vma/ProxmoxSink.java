package org.vmbackup.core.vma;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.ArchiveSink;

/**
 * A VMA sink with what a Proxmox dump directory holds beside the archive: on commit the side files (the task log,
 * the notes) are written under temporary names first, then the archive is committed (renamed to its vzdump name)
 * and the side files renamed, so a failed backup leaves neither. Disks whose size is not whole sectors are padded
 * in the archive; the padding is recorded as zeros just before the archive completes.
 */
final class ProxmoxSink implements ArchiveSink {
    private static final Logger log = LoggerFactory.getLogger(ProxmoxSink.class);
    private final ArchiveSink inner;
    private final long[] sizes;
    private final long[] padded;
    private final Map<Path, Supplier<String>> sideFiles;
    private final List<Path> temps = new ArrayList<>();

    /**
     * Wraps {@code inner}.
     *
     * @param sizes each disk's real size, in archive order
     * @param padded each disk's size in the archive (at least the real size)
     * @param sideFiles final path to the text written there on commit (evaluated then), in order
     */
    public ProxmoxSink(ArchiveSink inner, long[] sizes, long[] padded, Map<Path, Supplier<String>> sideFiles) {
        this.inner = inner;
        this.sizes = sizes.clone();
        this.padded = padded.clone();
        this.sideFiles = new LinkedHashMap<>(sideFiles);
    }

    @Override
    public void write(int disk, long offset, ByteBuffer data) throws IOException {
        inner.write(disk, offset, data);
    }

    @Override
    public InPlaceWrite tryReserve(int disk, long offset, int length) {
        return inner.tryReserve(disk, offset, length);
    }

    @Override
    public void writeZeroes(int disk, long offset, long length) throws IOException {
        inner.writeZeroes(disk, offset, length);
    }

    @Override
    public WritableByteChannel vmstateChannel() throws IOException {
        return inner.vmstateChannel();
    }

    @Override
    public void commit() throws IOException {
        try {
            for (int i = 0; i < sizes.length; i++) {
                if (padded[i] > sizes[i]) {
                    inner.writeZeroes(i, sizes[i], padded[i] - sizes[i]);
                }
            }
            List<Path[]> moves = new ArrayList<>();
            for (Map.Entry<Path, Supplier<String>> e : sideFiles.entrySet()) {
                Path fin = e.getKey();
                Path tmp = fin.resolveSibling("." + fin.getFileName() + ".tmp");
                temps.add(tmp);
                Files.writeString(tmp, e.getValue().get(), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE);
                moves.add(new Path[] {tmp, fin});
            }
            inner.commit();
            for (Path[] m : moves) {
                // the archive is complete: a side file that cannot be renamed is logged, not a failed backup
                try {
                    Files.move(m[0], m[1], StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    log.warn("cannot rename {} to {}: {}", m[0], m[1], e.toString());
                }
            }
            temps.clear();
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    @Override
    public void abort() {
        inner.abort();
        for (Path t : temps) {
            try {
                Files.deleteIfExists(t);
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", t, e.toString());
            }
        }
        temps.clear();
    }

    @Override
    public String describe() {
        return inner.describe();
    }
}
