package org.vmbackup.store;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A {@link StoreBackend} in a local directory: one file per object, written to a temporary file beside it and
 * renamed into place (so a crash never leaves a partial object under its name), and {@code fsync}ed before the
 * rename so that a manifest never survives a power loss that its chunks did not. "Touch" sets the file's
 * modification time. Temporary files start with {@code .} and are never listed.
 */
public final class LocalBackend implements StoreBackend {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._:-]*(/[A-Za-z0-9_][A-Za-z0-9._:-]*)*");
    private final Path root;
    private final boolean sync;

    /**
     * A backend in {@code dir}, which must be a directory.
     *
     * @param dir the directory
     * @throws IOException when {@code dir} is missing or not a directory
     */
    public LocalBackend(Path dir) throws IOException {
        this(dir, true);
    }

    /**
     * A backend in {@code dir}.
     *
     * @param dir the directory
     * @param sync false to skip fsync (tests and benchmarks on throwaway stores only)
     * @throws IOException when {@code dir} is missing or not a directory
     */
    public LocalBackend(Path dir, boolean sync) throws IOException {
        if (Files.isRegularFile(dir)) {
            throw new StoreException("store " + dir + " is a file, not a directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new StoreException("store " + dir + ": no such directory");
        }
        this.root = dir;
        this.sync = sync;
        int align = 0;
        try {
            long b = Files.getFileStore(dir).getBlockSize();
            if (b >= 512 && b <= ChunkCodec.ALIGN && Long.bitCount(b) == 1) {
                align = (int) b;
            }
        } catch (IOException | UnsupportedOperationException e) {
            // unknown block size: no O_DIRECT
        }
        this.directAlign = align;
    }

    private Path path(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad object name '" + name + "'");
        }
        return root.resolve(name);
    }

    @Override
    public boolean putIfAbsent(String name, ByteBuffer data) throws IOException {
        return put(name, data, sync);
    }

    @Override
    public boolean putIfAbsentUnsynced(String name, ByteBuffer data) throws IOException {
        return put(name, data, false);
    }

    /**
     * An existing chunk file of another length than {@code data} is replaced: chunks are renamed into place before
     * their batch fsync, so a power loss can leave one empty or cut short under its name (ext4's ordered mode
     * never shows other data, only a shorter file), and reusing it would make a new manifest reach a damaged chunk.
     * Only chunks: their name is their content's digest, so another length can only be a torn copy. Any other
     * object (a writer marker, {@code locks/gc}, the config) differs in content and length from another
     * process's, and existing is exactly what putIfAbsent must report for it.
     */
    private boolean put(String name, ByteBuffer data, boolean force) throws IOException {
        Path p = path(name);
        if (touchPath(p)) {
            try {
                if (!name.startsWith("chunks/") || Files.size(p) == data.remaining()) {
                    return false;
                }
            } catch (NoSuchFileException e) {
                // moved aside by a gc after the touch: store it anew
            }
        }
        writeAtomically(p, data, force);
        return true;
    }

    /**
     * fdatasync of every named file (a clean file costs a system call, no disk write: the touch that changed
     * its mtime is not data), then of their directories, so that the renames are durable too.
     */
    @Override
    public void sync(List<String> names) throws IOException {
        if (!sync) {
            return;
        }
        Set<Path> dirs = new HashSet<>();
        for (String name : names) {
            Path p = path(name);
            // Missing: a running gc holds it moved aside between its two renames (every chunk no manifest names
            // yet bounces so, also this snapshot's new and touched ones), and moves it back unsynced. Put back
            // here and synced, as a read does; a gc that finds it gone keeps it (deleteIfUntouchedSince). Synced
            // again whatever the put-back found: the gc may have moved it back itself meanwhile.
            if (!forceFile(p)) {
                restoreMovedAside(p);
                if (!forceFile(p)) {
                    continue; // gone for good: a gc deleted it (untouched since its cutoff): never this writer's
                }
            }
            dirs.add(p.getParent());
        }
        for (Path d : dirs) {
            syncDirectory(d);
        }
    }

    /** fdatasync of one file; false when it does not exist. */
    private static boolean forceFile(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(false);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (NoSuchFileException e) {
            // removed meanwhile (an emptied snapshot directory): nothing in it to make durable
        }
    }

    /**
     * A chunk that a killed gc left moved aside is put back first, as a read does: an incremental backup touches its
     * parent's chunks without their data and would otherwise fail on it until the next gc cleans up.
     */
    @Override
    public boolean touch(String name) throws IOException {
        Path p = path(name);
        return touchPath(p) || (restoreMovedAside(p) && touchPath(p));
    }

    private static boolean touchPath(Path p) throws IOException {
        try {
            // fails with NoSuchFileException when a gc moved it aside meanwhile: the caller then stores it anew
            Files.setLastModifiedTime(p, FileTime.from(Instant.now()));
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    @Override
    public void publish(String name, ByteBuffer data) throws IOException {
        writeAtomically(path(name), data, sync);
    }

    /**
     * Streams a large object (a disk's index) from {@code data} into its temporary file by the kernel
     * ({@code transferTo}: no copy through the heap), then fsyncs and renames it as {@link #publish} does.
     */
    @Override
    public void publish(String name, FileChannel data, long length) throws IOException {
        writeAtomically(path(name), tmp -> {
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (long pos = 0; pos < length;) {
                    long n = data.transferTo(pos, length - pos, out);
                    if (n <= 0) {
                        throw new java.io.EOFException(name + ": its source ends at " + pos + " of " + length + " bytes");
                    }
                    pos += n;
                }
                if (sync) {
                    out.force(false);
                }
            }
        });
    }

    /** Writes a new temporary file (it must not exist yet). */
    private interface TempWrite {
        void to(Path tmp) throws IOException;
    }

    private void writeAtomically(Path p, ByteBuffer data, boolean force) throws IOException {
        writeAtomically(p, tmp -> writeFile(tmp, data, force));
    }

    private void writeAtomically(Path p, TempWrite write) throws IOException {
        Path tmp = p.resolveSibling(".tmp-" + p.getFileName() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        for (int attempt = 0;; attempt++) {
            try {
                write.to(tmp);
                Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE);
                return;
            } catch (NoSuchFileException e) {
                // The directory is missing: made only now, not before every write (a mkdir that fails with EEXIST
                // still takes the parent directory's lock, which all workers share: JFR showed them in mkdir).
                // Or a prune removed the (then empty) directory between our mkdir and the write: once more.
                Files.deleteIfExists(tmp);
                if (attempt >= 3) {
                    throw e;
                }
                Files.createDirectories(p.getParent());
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
        }
    }

    /**
     * Writes {@code data} to the new file {@code tmp}. A direct buffer whose start is aligned to the file system's
     * block size (the codec's object buffers are) goes through O_DIRECT, all but its last partial block: no copy
     * into page cache pages (slow to allocate in this kind of VM, see vma-format's DirectFileOutput) and no dirty
     * pages for the batch flush to write out (measured: 1700 objects of ~1 MiB written and fdatasynced in 1.4 s
     * with O_DIRECT against 3.2 s through the page cache, BENCHMARKS.md). The tail (under one block) goes through
     * an ordinary descriptor: it starts at the end of the file, so no block is read back.
     */
    private void writeFile(Path tmp, ByteBuffer data, boolean force) throws IOException {
        int align = directAlign;
        int aligned = align > 0 && data.isDirect() && data.alignmentOffset(data.position(), align) == 0
                ? data.remaining() & -align : 0;
        if (aligned > 0) {
            FileChannel ch = openDirect(tmp);
            if (ch == null) {
                aligned = 0;
            }
            if (ch != null) {
                try (ch) {
                    ByteBuffer d = data.duplicate().limit(data.position() + aligned);
                    while (d.hasRemaining()) {
                        ch.write(d, d.position() - data.position());
                    }
                } catch (IOException e) {
                    // EINVAL on the write: O_DIRECT opened but is not usable with this alignment; the page cache
                    Files.deleteIfExists(tmp);
                    if (directAlign == 0) {
                        throw e;
                    }
                    directAlign = 0;
                    writeFile(tmp, data, force);
                    return;
                }
                if (aligned == data.remaining() && !force) {
                    return;
                }
            }
        }
        StandardOpenOption[] opts = aligned > 0
                ? new StandardOpenOption[] {StandardOpenOption.WRITE}
                : new StandardOpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE};
        try (FileChannel ch = FileChannel.open(tmp, opts)) {
            ByteBuffer d = data.duplicate().position(data.position() + aligned);
            while (d.hasRemaining()) {
                ch.write(d, d.position() - data.position());
            }
            if (force) {
                ch.force(false);
            }
        }
    }

    /** A new file opened with O_DIRECT, or null (and no more tries) where the JDK or file system refuses it. */
    private FileChannel openDirect(Path tmp) throws IOException {
        try {
            return FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            directAlign = 0; // no O_DIRECT on this JDK
            return null;
        } catch (NoSuchFileException | FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            // EINVAL: the file system refuses O_DIRECT (tmpfs): the page cache from now on
            directAlign = 0;
            Files.deleteIfExists(tmp);
            return null;
        }
    }

    /** The block size O_DIRECT writes align to, 0 once the file system or JDK refused O_DIRECT. */
    private volatile int directAlign;

    /** @return the block size of O_DIRECT writes, 0 when they are not used (for tests) */
    int directAlign() {
        return directAlign;
    }

    @Override
    public Optional<ByteBuffer> get(String name) throws IOException {
        Path p = path(name);
        try {
            return Optional.of(ByteBuffer.wrap(Files.readAllBytes(p)));
        } catch (NoSuchFileException e) {
            if (!restoreMovedAside(p)) {
                return Optional.empty();
            }
            try {
                return Optional.of(ByteBuffer.wrap(Files.readAllBytes(p)));
            } catch (NoSuchFileException again) {
                return Optional.empty();
            }
        }
    }

    /**
     * A gc killed between moving a touched chunk aside and moving it back (see {@link #deleteIfUntouchedSince})
     * leaves it under its aside name: a read that misses the object puts it back.
     */
    private static boolean restoreMovedAside(Path p) throws IOException {
        Path dir = p.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return false;
        }
        String prefix = ".gc-" + p.getFileName() + "-";
        try (var s = Files.newDirectoryStream(dir, x -> x.getFileName().toString().startsWith(prefix))) {
            for (Path aside : s) {
                try {
                    Files.move(aside, p, StandardCopyOption.ATOMIC_MOVE);
                    return true;
                } catch (NoSuchFileException e) {
                    // the gc finished with it meanwhile
                }
            }
        }
        return false;
    }

    @Override
    public Optional<ByteBuffer> get(String name, long offset, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(path(name), StandardOpenOption.READ)) {
            long n = Math.max(0, Math.min(length, ch.size() - offset));
            ByteBuffer b = ByteBuffer.allocate((int) n);
            while (b.hasRemaining() && ch.read(b, offset + b.position()) >= 0) {
                // loop until full or end of file
            }
            return Optional.of(b.flip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public Optional<ObjectStat> stat(String name) throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(path(name), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return Optional.of(new ObjectStat(name, a.size(), a.lastModifiedTime().toInstant()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        int slash = prefix.lastIndexOf('/');
        Path dir = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.forEach(p -> {
                if (!p.getFileName().toString().startsWith(".") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    String name = root.relativize(p).toString().replace('\\', '/');
                    if (name.startsWith(prefix)) {
                        out.add(name);
                    }
                }
            });
        } catch (java.io.UncheckedIOException e) {
            // a directory removed while walking (prune, gc): what is gone is not listed
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw e.getCause();
            }
        }
        return out;
    }

    @Override
    public void delete(String name) throws IOException {
        Path p = path(name);
        Files.deleteIfExists(p);
        removeEmptyParents(p.getParent());
    }

    private void removeEmptyParents(Path dir) {
        // snapshot directories go with their last object; chunk prefix directories stay (they are reused)
        while (dir != null && !dir.equals(root) && !dir.getParent().getFileName().toString().equals("chunks")
                && !dir.getFileName().toString().equals("chunks")) {
            try {
                Files.delete(dir);
            } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                return;
            } catch (IOException e) {
                return;
            }
            dir = dir.getParent();
        }
    }

    @Override
    public long deleteIfUntouchedSince(String name, Instant cutoff) throws IOException {
        Path p = path(name);
        Path aside = p.resolveSibling(".gc-" + p.getFileName() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            Files.move(p, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return -1;
        } catch (AtomicMoveNotSupportedException e) {
            throw new StoreException("store " + root + ": the file system cannot rename atomically", e);
        }
        // Moved aside: a touch from now on finds no file and stores the object anew. A touch that came before the
        // move shows in the modification time, and then the object goes back.
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(aside, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return -1; // a reader missed it and put it back (restoreMovedAside): it is in use
        }
        if (a.lastModifiedTime().toInstant().isBefore(cutoff)) {
            try {
                Files.delete(aside);
            } catch (NoSuchFileException e) {
                return -1;
            }
            removeEmptyParents(p.getParent());
            return a.size();
        }
        try {
            Files.move(aside, p, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            // a reader put it back already (restoreMovedAside)
        }
        return -1;
    }

    /**
     * Walks the whole store once: {@code .tmp-*} files (see {@link #writeAtomically}) of writers killed between
     * their write and their rename, and {@code .gc-*} files of a gc killed between its two renames (see
     * {@link #deleteIfUntouchedSince}). Without this both stay forever: nothing lists or reads them (a read puts a
     * moved-aside chunk back, but only a chunk that some snapshot still needs is ever read).
     */
    @Override
    public long cleanUpAfterKilledProcesses(Instant cutoff) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.forEach(p -> {
                String n = p.getFileName().toString();
                if (n.startsWith(".tmp-") || n.startsWith(".gc-")) {
                    found.add(p);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof NoSuchFileException)) {
                throw e.getCause();
            }
        }
        long removed = 0;
        for (Path p : found) {
            String n = p.getFileName().toString();
            try {
                if (n.startsWith(".tmp-")) {
                    // a live writer renames its temporary within moments of its last write: an old one is orphaned
                    if (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff)) {
                        Files.delete(p);
                        removed++;
                    }
                } else {
                    putBackAside(p, n);
                }
            } catch (NoSuchFileException e) {
                // renamed or put back meanwhile
            }
        }
        return removed;
    }

    /** {@code .gc-NAME-RANDOM}: back to NAME, or away where NAME was stored anew (same digest, same content). */
    private static void putBackAside(Path aside, String n) throws IOException {
        int dash = n.lastIndexOf('-');
        if (dash <= ".gc-".length()) {
            return; // not one of ours
        }
        Path p = aside.resolveSibling(n.substring(".gc-".length(), dash));
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(aside);
        } else {
            Files.move(aside, p, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    @Override
    public String describe() {
        return root.toString();
    }

    /** @return the directory */
    public Path directory() {
        return root;
    }

    @Override
    public void close() {
        // nothing held open
    }
}
