package org.vmbackup.core.vma;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import org.vmbackup.core.ArchiveLayout;
import org.vmbackup.core.ArchiveSource;
import org.vmbackup.core.ArchiveVisitor;
import org.vmbackup.core.RandomAccessDisk;
import org.vmbackup.vma.VmaFormatException;
import org.vmbackup.vma.VmaReader;

/**
 * A VMA archive read strictly in order: a compressed file ({@code .vma.zst}, {@code .vma.gz}) or a stream such as
 * stdin. {@link #read} works once; random access and the separate VM state stream do not (a VMA stores the VM
 * state between the disk clusters).
 */
final class VmaStreamSource implements ArchiveSource {
    private final VmaReader reader;
    private final String description;
    private final VmaSourceLayout vma;
    private boolean consumed;

    private VmaStreamSource(VmaReader reader, String description) throws IOException {
        this.reader = reader;
        this.description = description;
        this.vma = new VmaSourceLayout(description, reader.header());
    }

    /** Reads the header of the VMA on {@code in}; closes the stream when that fails. */
    static VmaStreamSource open(InputStream in, String description) throws IOException {
        return open(() -> VmaReader.open(in), description);
    }

    /** Reads the header of the (compressed) VMA file {@code file}. */
    static VmaStreamSource open(Path file) throws IOException {
        return open(() -> VmaReader.open(file), file.toString());
    }

    private interface Opener {
        VmaReader open() throws IOException;
    }

    private static VmaStreamSource open(Opener opener, String description) throws IOException {
        VmaReader r;
        try {
            r = opener.open();
        } catch (VmaFormatException e) {
            throw new IOException("archive " + description + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new IOException("archive " + description + ": " + e.getMessage(), e.getCause());
        }
        try {
            return new VmaStreamSource(r, description);
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    @Override
    public ArchiveLayout layout() {
        return vma.layout();
    }

    @Override
    public boolean randomAccess() {
        return false;
    }

    @Override
    public void read(ArchiveVisitor visitor) throws IOException {
        if (consumed) {
            throw new IllegalStateException("the VMA stream " + description + " was already read (sequential only)");
        }
        consumed = true;
        vma.read(() -> reader.readAll(vma.runs(visitor)));
    }

    @Override
    public RandomAccessDisk disk(int index) {
        throw new UnsupportedOperationException(sequentialOnly("random access to a disk"));
    }

    @Override
    public ReadableByteChannel vmstate() {
        throw new UnsupportedOperationException(sequentialOnly("the VM state as a separate stream")
                + "; its VM state comes through read(), between the disks");
    }

    private String sequentialOnly(String what) {
        return description + " is a VMA stream, read in order only: " + what + " needs an uncompressed VMA file or "
                + "a directory archive";
    }

    @Override
    public long bytesRead() {
        return reader.position();
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        reader.close();
    }
}
