package org.vmbackup.core.vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.core.ArchiveDisk;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.core.ConfigBlob;
import org.vmbackup.core.internal.InPlaceAdapter;
import org.vmbackup.vma.VmaDevice;
import org.vmbackup.vma.VmaWriter;

/**
 * An archive in Proxmox's VMA format, written by {@link VmaWriter}: to a path ({@code .vma}, {@code .vma.zst},
 * {@code .vma.gz}; written under a temporary name and renamed on commit) or to a channel. The VM state becomes
 * the archive's {@code vmstate} device.
 */
public final class VmaArchiveSink implements ArchiveSink {
    private final VmaWriter writer;
    private final List<VmaDevice> devices = new ArrayList<>();
    private final String description;

    private VmaArchiveSink(VmaWriter writer, ArchiveLayout layout, String description) {
        this.writer = writer;
        this.description = description;
        for (ArchiveDisk d : layout.disks()) {
            devices.add(writer.device(d.name()));
        }
    }

    private static VmaWriter.Builder builder(ArchiveLayout layout) {
        VmaWriter.Builder b = VmaWriter.builder().uuid(layout.uuid()).ctime(layout.created());
        for (ConfigBlob c : layout.configs()) {
            b.config(c.name(), c.content());
        }
        for (ArchiveDisk d : layout.disks()) {
            b.disk(d.name(), d.size());
        }
        if (layout.hasVmstate()) {
            b.vmstate(layout.vmstateEstimate());
        }
        return b;
    }

    /** Opens a VMA archive at {@code archive} (must not exist); compression by file name. */
    public static VmaArchiveSink open(Path archive, ArchiveLayout layout) throws IOException {
        Path abs = archive.toAbsolutePath();
        // O_DIRECT: a backup archive is written once and not read back soon (see VmaWriter.Builder.directIo)
        return new VmaArchiveSink(wrap(() -> builder(layout).directIo(true).open(abs)), layout, abs.toString());
    }

    /** Writes an uncompressed VMA stream to {@code out}; the channel is not closed. */
    public static VmaArchiveSink open(WritableByteChannel out, ArchiveLayout layout) throws IOException {
        return new VmaArchiveSink(wrap(() -> builder(layout).open(out)), layout, "VMA stream to " + out);
    }

    private interface Opener {
        VmaWriter open() throws IOException;
    }

    private static VmaWriter wrap(Opener o) throws IOException {
        try {
            return o.open();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public void write(int disk, long offset, ByteBuffer data) throws IOException {
        try {
            writer.write(devices.get(disk), offset, data);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Whole clusters go in place into the writer's extent buffers when one is free ({@link VmaWriter#tryReserve}). */
    @Override
    public InPlaceWrite tryReserve(int disk, long offset, int length) {
        VmaWriter.Reservation r = writer.tryReserve(devices.get(disk), offset, length);
        return r == null ? null : new InPlaceAdapter(r::buffers, r::commit, r::abandon);
    }

    @Override
    public void writeZeroes(int disk, long offset, long length) throws IOException {
        try {
            writer.writeZeroes(devices.get(disk), offset, length);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public WritableByteChannel vmstateChannel() throws IOException {
        try {
            return writer.vmstateChannel();
        } catch (IllegalStateException e) {
            throw new IOException("archive " + description + " has no vmstate device", e);
        }
    }

    @Override
    public void commit() throws IOException {
        try {
            writer.close();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public void abort() {
        writer.abort();
    }

    @Override
    public String describe() {
        return description;
    }
}
