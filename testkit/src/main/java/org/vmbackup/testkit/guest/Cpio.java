package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" format the kernel unpacks as an initramfs. Written here rather than run
 * from the host's {@code cpio} so that building the guest needs no host tool and no root: device nodes (the
 * kernel needs {@code /dev/console} before {@code /init} runs) are just header fields.
 *
 * <p>Parent directories are added on demand; every entry is owned by root.
 */
final class Cpio implements AutoCloseable {
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    private final OutputStream out;
    private final Set<String> dirs = new HashSet<>();
    private long written;
    private int nextInode = 1;

    Cpio(OutputStream out) {
        this.out = out;
    }

    void directory(String path) throws IOException {
        path = strip(path);
        if (path.isEmpty() || dirs.contains(path)) {
            return;
        }
        parents(path);
        dirs.add(path);
        entry(path, S_IFDIR | 0755, 2, 0, 0, new byte[0]);
    }

    void file(String path, int perm, byte[] data) throws IOException {
        path = strip(path);
        parents(path);
        entry(path, S_IFREG | perm, 1, 0, 0, data);
    }

    void symlink(String path, String target) throws IOException {
        path = strip(path);
        parents(path);
        entry(path, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    void charDevice(String path, int perm, int major, int minor) throws IOException {
        path = strip(path);
        parents(path);
        entry(path, S_IFCHR | perm, 1, major, minor, new byte[0]);
    }

    /** Writes the trailer; does not close the underlying stream. */
    @Override
    public void close() throws IOException {
        entry("TRAILER!!!", 0, 1, 0, 0, new byte[0]);
        out.flush();
    }

    private void parents(String path) throws IOException {
        int slash = path.lastIndexOf('/');
        if (slash > 0) {
            directory(path.substring(0, slash));
        }
    }

    private static String strip(String path) {
        while (path.startsWith("/")) {
            path = path.substring(1);
        }
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return path;
    }

    private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data)
            throws IOException {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(110).append("070701");
        for (long field : new long[] {nextInode++, mode, 0, 0, nlink, 0, data.length, 0, 0, rdevMajor, rdevMinor,
                nameBytes.length, 0}) {
            h.append(String.format("%08x", field));
        }
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        pad();
        write(data);
        pad();
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }
}
