package org.vmbackup.testkit.guest;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the tiny guest from Debian packages: {@code apt-get download}, {@code dpkg -x} into a scratch tree, the
 * shared libraries resolved with the packaged {@code ld.so --list}, the initramfs written by {@link Cpio}. Nothing
 * is installed on the host. One build at a time per cache (a file lock); the result appears by an atomic rename,
 * so a crashed build leaves only a temporary directory behind.
 */
final class TinyGuestBuilder {
    private static final Logger log = LoggerFactory.getLogger(TinyGuestBuilder.class);

    /** Bump when the layout of the initramfs or the cache changes (the init script is hashed anyway). */
    static final String BUILDER_VERSION = "1";

    /** Modules in an order that loads without modprobe (each after what it needs); from guest-lab.md. */
    static final List<String> MODULES = List.of("virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_ring",
            "virtio", "virtio_pci", "virtio_blk", "virtio_console", "crc32c_generic", "jbd2", "mbcache", "crc16",
            "ext4");

    /** Packages whose programs go into the guest (or run on the host: xz), followed through their libraries. */
    private static final List<String> PROGRAM_PACKAGES = List.of("qemu-guest-agent", "e2fsprogs", "xz-utils");
    private static final Pattern LIBRARY_PACKAGE = Pattern.compile("lib[a-z0-9.+-]*|zlib1g");
    private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration LOCK_TIMEOUT = Duration.ofMinutes(25);
    private static final Duration LISTS_MAX_AGE = Duration.ofHours(24);
    private static final String MULTIARCH = "x86_64-linux-gnu";

    private final Path cacheRoot;
    private final Path aptState;

    TinyGuestBuilder(Path cacheRoot) {
        this.cacheRoot = cacheRoot;
        this.aptState = cacheRoot.resolve("apt");
    }

    /** The cached guest for the current package versions, built first when missing. */
    TinyGuest buildOrReuse() throws IOException {
        Files.createDirectories(cacheRoot);
        // One JVM at a time per cache: apt's private lists and the cache directory are shared.
        synchronized (TinyGuestBuilder.class) {
            try (FileChannel lockFile = FileChannel.open(cacheRoot.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE)) {
                FileLock lock = lock(lockFile);
                try {
                    return buildLocked();
                } finally {
                    lock.release();
                }
            }
        }
    }

    /** The cache's lock, waiting (bounded) while another JVM builds: longer than any one build may take. */
    private FileLock lock(FileChannel lockFile) throws IOException {
        long deadline = System.nanoTime() + LOCK_TIMEOUT.toNanos();
        while (true) {
            FileLock lock = lockFile.tryLock();
            if (lock != null) {
                return lock;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("another process has been building the tiny guest in " + cacheRoot + " for "
                        + LOCK_TIMEOUT + " (it holds " + cacheRoot.resolve(".lock") + ")");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for another build of the tiny guest", e);
            }
        }
    }

    private TinyGuest buildLocked() throws IOException {
        long start = System.nanoTime();
        List<String> apt = aptOptions();
        String kernelPackage = kernelPackage(apt);
        Set<String> packages = new LinkedHashSet<>();
        packages.add(kernelPackage);
        packages.add("busybox-static");
        packages.addAll(PROGRAM_PACKAGES);
        packages.addAll(libraryClosure(apt, PROGRAM_PACKAGES));
        Map<String, String> versions = candidateVersions(apt, packages);
        String initScript = initScript();
        String key = cacheKey(versions, initScript);
        Path dir = cacheRoot.resolve(key);
        if (Files.isRegularFile(dir.resolve(TinyGuest.PROPERTIES))) {
            log.debug("tiny guest {} is cached in {}", key, dir);
            Files.setLastModifiedTime(dir, FileTime.from(Instant.now()));
            return TinyGuest.load(dir);
        }
        log.info("building the tiny guest {} from {} Debian packages into {}", key, versions.size(), dir);
        Path tmp = cacheRoot.resolve(".tmp-" + UUID.randomUUID());
        try {
            build(apt, kernelPackage, versions, initScript, key, tmp);
            Files.move(tmp.resolve("out"), dir, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteRecursively(tmp);
        }
        log.info("built the tiny guest {} in {} ms", key, (System.nanoTime() - start) / 1_000_000);
        prune(key);
        return TinyGuest.load(dir);
    }

    private void build(List<String> apt, String kernelPackage, Map<String, String> versions, String initScript,
            String key, Path tmp) throws IOException {
        Path debs = Files.createDirectories(tmp.resolve("debs"));
        Path tree = Files.createDirectories(tmp.resolve("tree"));
        Path out = Files.createDirectories(tmp.resolve("out"));
        List<String> download = new ArrayList<>(List.of("apt-get"));
        download.addAll(apt);
        download.add("download");
        versions.forEach((p, v) -> download.add(p + "=" + v));
        Exec.check(download, debs, Map.of(), APT_TIMEOUT);
        try (Stream<Path> files = Files.list(debs)) {
            for (Path deb : files.filter(f -> f.toString().endsWith(".deb")).sorted().toList()) {
                Exec.check(List.of("dpkg", "-x", deb.toString(), tree.toString()), tmp, Map.of(),
                        Duration.ofMinutes(5));
            }
        }

        String kernelVersion = kernelPackage.substring("linux-image-".length());
        Path bzImage = tree.resolve("boot/vmlinuz-" + kernelVersion);
        require(bzImage, kernelPackage);
        Files.copy(bzImage, out.resolve(TinyGuest.BZIMAGE));
        extractVmlinux(tree, bzImage, out.resolve(TinyGuest.VMLINUX));

        Path ldso = tree.resolve("lib/" + MULTIARCH + "/ld-linux-x86-64.so.2");
        require(ldso, "libc6");
        String libraryPath = tree.resolve("lib/" + MULTIARCH) + ":" + tree.resolve("usr/lib/" + MULTIARCH);

        Map<String, Path> libs = new TreeMap<>();
        List<String> guestPrograms = List.of("usr/sbin/qemu-ga", "sbin/mke2fs");
        for (String program : guestPrograms) {
            libs.putAll(sharedLibraries(ldso, libraryPath, tree, program));
        }
        writeInitramfs(tree, initScript, ldso, libs, guestPrograms, kernelVersion, out.resolve(TinyGuest.INITRD));

        // e2fsprogs for the host (check and read a data disk), run through the packaged loader.
        Path tools = Files.createDirectories(out.resolve(TinyGuest.TOOLS));
        Path toolLib = Files.createDirectories(tools.resolve("lib"));
        Files.copy(ldso, toolLib.resolve("ld-linux-x86-64.so.2"));
        for (String tool : TinyGuest.HOST_TOOLS) {
            Path exe = tree.resolve("sbin/" + tool);
            require(exe, "e2fsprogs");
            Files.copy(exe, tools.resolve(tool));
            for (Map.Entry<String, Path> lib : sharedLibraries(ldso, libraryPath, tree, "sbin/" + tool).entrySet()) {
                Path target = toolLib.resolve(Path.of(lib.getKey()).getFileName().toString());
                if (!Files.exists(target)) {
                    Files.copy(lib.getValue(), target);
                }
            }
        }

        Properties props = new Properties();
        props.setProperty("key", key);
        props.setProperty("kernel", kernelVersion);
        props.setProperty("builder", BUILDER_VERSION);
        versions.forEach((p, v) -> props.setProperty("package." + p, v));
        try (OutputStream os = Files.newOutputStream(out.resolve(TinyGuest.PROPERTIES))) {
            props.store(os, "vmbackup tiny guest (testkit TinyGuest)");
        }
    }

    /** The uncompressed kernel inside the bzImage: QEMU boots it directly (PVH), which halves the boot time. */
    private static void extractVmlinux(Path tree, Path bzImage, Path target) throws IOException {
        byte[] image = Files.readAllBytes(bzImage);
        byte[] magic = {(byte) 0xFD, '7', 'z', 'X', 'Z', 0};
        int offset = indexOf(image, magic);
        if (offset < 0) {
            throw new IOException(bzImage + " holds no xz stream: cannot extract vmlinux");
        }
        Path xz = tree.resolve("usr/bin/xz");
        require(xz, "xz-utils");
        // The packaged xz (busybox's xzcat rejects this stream); --single-stream stops at the kernel's end.
        Exec.check(List.of("sh", "-c", "tail -c +" + (offset + 1) + " \"$1\" | \"$2\" -dc --single-stream > \"$3\"",
                "sh", bzImage.toString(), xz.toString(), target.toString()), null,
                Map.of("LD_LIBRARY_PATH", tree.resolve("lib/" + MULTIARCH) + ":" + tree.resolve("usr/lib/" + MULTIARCH)),
                Duration.ofMinutes(2));
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(target)) {
            if (in.readNBytes(head, 0, 4) != 4 || head[0] != 0x7f || head[1] != 'E' || head[2] != 'L' || head[3] != 'F') {
                throw new IOException("the kernel extracted from " + bzImage + " is not an ELF file");
            }
        }
    }

    private static int indexOf(byte[] data, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= data.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static final Pattern LDSO_LINE = Pattern.compile("^\\s*(\\S+) => (\\S+) \\(0x[0-9a-f]+\\)$");

    /**
     * The shared libraries {@code program} (relative to the tree) loads, as guest path -> file in the tree;
     * resolved by the packaged loader, so the host's libraries never leak in.
     */
    private static Map<String, Path> sharedLibraries(Path ldso, String libraryPath, Path tree, String program)
            throws IOException {
        Path exe = tree.resolve(program);
        require(exe, program);
        String out = Exec.check(List.of(ldso.toString(), "--library-path", libraryPath, "--list", exe.toString()),
                null, Map.of(), Duration.ofMinutes(1));
        Map<String, Path> libs = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            if (line.contains("not found")) {
                throw new IOException(program + " needs a library no downloaded package provides: " + line.strip()
                        + " (ld.so --list: " + out.strip() + ")");
            }
            Matcher m = LDSO_LINE.matcher(line);
            if (m.matches()) {
                Path file = Path.of(m.group(2));
                if (!file.startsWith(tree)) {
                    throw new IOException(program + " resolved " + m.group(1) + " outside the packages: " + file);
                }
                libs.put(tree.relativize(file).toString(), file);
            }
        }
        return libs;
    }

    private static void writeInitramfs(Path tree, String initScript, Path ldso, Map<String, Path> libs,
            List<String> programs, String kernelVersion, Path target) throws IOException {
        Map<String, Path> modules = findModules(tree.resolve("lib/modules/" + kernelVersion));
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(target));
                GZIPOutputStream gz = new GZIPOutputStream(file, 1 << 16) {
                    {
                        def.setLevel(9);
                    }
                };
                Cpio cpio = new Cpio(gz)) {
            cpio.charDevice("dev/console", 0600, 5, 1);
            cpio.charDevice("dev/null", 0666, 1, 3);
            cpio.file("init", 0755, initScript.getBytes(StandardCharsets.UTF_8));
            cpio.file("bin/busybox", 0755, Files.readAllBytes(require(tree.resolve("bin/busybox"), "busybox-static")));
            cpio.symlink("bin/sh", "busybox");
            // guest-shutdown runs /sbin/shutdown, which busybox lacks.
            cpio.file("sbin/shutdown", 0755, "#!/bin/sh\nsync\nexec /bin/busybox poweroff -f\n"
                    .getBytes(StandardCharsets.UTF_8));
            for (String module : MODULES) {
                cpio.file("lib/modules/" + module + ".ko", 0644, Files.readAllBytes(modules.get(module)));
            }
            for (String program : programs) {
                cpio.file(program, 0755, Files.readAllBytes(tree.resolve(program)));
            }
            // The programs' interpreter (PT_INTERP) and libraries, as regular files under their sonames.
            cpio.file("lib64/ld-linux-x86-64.so.2", 0755, Files.readAllBytes(ldso));
            for (Map.Entry<String, Path> lib : libs.entrySet()) {
                cpio.file(lib.getKey(), 0755, Files.readAllBytes(lib.getValue().toRealPath()));
            }
            cpio.directory("etc");
            cpio.directory("root");
        }
    }

    private static Map<String, Path> findModules(Path moduleDir) throws IOException {
        Map<String, Path> found = new LinkedHashMap<>();
        try (Stream<Path> walk = Files.walk(moduleDir)) {
            walk.filter(p -> p.getFileName().toString().endsWith(".ko")).forEach(p -> {
                String name = p.getFileName().toString();
                found.put(name.substring(0, name.length() - 3).replace('-', '_'), p);
            });
        }
        Map<String, Path> wanted = new LinkedHashMap<>();
        for (String m : MODULES) {
            Path p = found.get(m);
            if (p == null) {
                throw new IOException("kernel module " + m + ".ko is not in " + moduleDir);
            }
            wanted.put(m, p);
        }
        return wanted;
    }

    private static Path require(Path file, String from) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(file + " is missing (expected from " + from + ")");
        }
        return file;
    }

    static String initScript() throws IOException {
        try (InputStream in = TinyGuestBuilder.class.getResourceAsStream("init.sh")) {
            if (in == null) {
                throw new IOException("init.sh is missing from testkit's resources");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("@MODULES@", String.join(" ", MODULES));
        }
    }

    private static String cacheKey(Map<String, String> versions, String initScript) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(("builder " + BUILDER_VERSION + "\n").getBytes(StandardCharsets.UTF_8));
            new TreeMap<>(versions).forEach((p, v) -> sha.update((p + "=" + v + "\n").getBytes(StandardCharsets.UTF_8)));
            sha.update(initScript.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // --- apt ---------------------------------------------------------------------------------------------------

    /**
     * apt options for a private state (lists, cache) fed from the machine's own sources, so the machine's apt
     * state is not touched and stale system lists do not matter. Lists older than a day are refreshed; when that
     * fails (no network) the private lists, or else the system's, are used as they are.
     */
    private List<String> aptOptions() throws IOException {
        Path lists = Files.createDirectories(aptState.resolve("lists/partial")).getParent();
        Files.createDirectories(aptState.resolve("cache/archives/partial"));
        Path sources = Files.createDirectories(aptState.resolve("sources"));
        Path sourceList = aptState.resolve("sources.list");
        Files.writeString(sourceList, Files.exists(Path.of("/etc/apt/sources.list"))
                ? Files.readString(Path.of("/etc/apt/sources.list")) : "");
        try (Stream<Path> old = Files.list(sources)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        Path parts = Path.of("/etc/apt/sources.list.d");
        if (Files.isDirectory(parts)) {
            try (Stream<Path> files = Files.list(parts)) {
                for (Path p : files.filter(f -> f.toString().endsWith(".list") || f.toString().endsWith(".sources"))
                        .toList()) {
                    Files.copy(p, sources.resolve(p.getFileName()));
                }
            }
        }
        List<String> priv = List.of("-o", "Dir::Etc::SourceList=" + sourceList, "-o", "Dir::Etc::SourceParts=" + sources,
                "-o", "Dir::State::Lists=" + lists, "-o", "Dir::Cache=" + aptState.resolve("cache"),
                "-o", "Dir::State::status=/var/lib/dpkg/status", "-o", "Debug::NoLocking=1",
                "-o", "APT::Get::List-Cleanup=0", "-o", "APT::Sandbox::User=root");
        Path stamp = aptState.resolve("updated");
        boolean fresh = Files.exists(stamp) && Files.getLastModifiedTime(stamp).toInstant()
                .isAfter(Instant.now().minus(LISTS_MAX_AGE));
        if (!fresh) {
            List<String> update = new ArrayList<>(List.of("apt-get"));
            update.addAll(priv);
            update.addAll(List.of("-qq", "update"));
            Exec.Result r = Exec.run(update, null, Map.of(), APT_TIMEOUT);
            if (r.exitCode() == 0 && !r.output().contains("Failed to fetch")) {
                Files.writeString(stamp, Instant.now().toString());
            } else if (hasLists(lists)) {
                log.warn("apt-get update failed, using the private lists of {}: {}",
                        Files.exists(stamp) ? Files.readString(stamp).strip() : "an earlier attempt", r.output().strip());
            } else {
                log.warn("apt-get update failed, using the system's apt lists: {}", r.output().strip());
                return List.of("-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
                        "-o", "Dir::Cache=" + aptState.resolve("cache"));
            }
        }
        return priv;
    }

    private static boolean hasLists(Path lists) throws IOException {
        try (Stream<Path> files = Files.list(lists)) {
            return files.anyMatch(f -> f.getFileName().toString().contains("Packages"));
        }
    }

    private static String kernelPackage(List<String> apt) throws IOException {
        String out = aptCache(apt, List.of("depends", "linux-image-amd64"));
        Matcher m = Pattern.compile("Depends: (linux-image-[0-9][^\\s]*-amd64)").matcher(out);
        if (!m.find()) {
            throw new IOException("apt-cache cannot resolve linux-image-amd64 to a kernel package: " + out.strip());
        }
        return m.group(1);
    }

    /** The library packages the given packages need, transitively (Depends and PreDepends only). */
    private static Set<String> libraryClosure(List<String> apt, List<String> roots) throws IOException {
        Set<String> seen = new LinkedHashSet<>();
        List<String> level = roots;
        while (!level.isEmpty()) {
            List<String> args = new ArrayList<>(List.of("depends", "--no-recommends", "--no-suggests",
                    "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"));
            args.addAll(level);
            List<String> next = new ArrayList<>();
            for (String line : aptCache(apt, args).split("\n")) {
                Matcher m = Pattern.compile("^\\s+(?:Pre)?Depends: ([^\\s<>]+)").matcher(line);
                if (m.find()) {
                    String p = m.group(1).replaceAll(":any$", "");
                    if (LIBRARY_PACKAGE.matcher(p).matches() && !p.endsWith("-perl") && seen.add(p)) {
                        next.add(p);
                    }
                }
            }
            level = next;
        }
        return seen;
    }

    private static Map<String, String> candidateVersions(List<String> apt, Set<String> packages) throws IOException {
        List<String> args = new ArrayList<>(List.of("show", "--no-all-versions"));
        args.addAll(packages);
        Map<String, String> versions = new TreeMap<>();
        String pkg = null;
        for (String line : aptCache(apt, args).split("\n")) {
            if (line.startsWith("Package: ")) {
                pkg = line.substring(9).strip();
            } else if (line.startsWith("Version: ") && pkg != null) {
                versions.putIfAbsent(pkg, line.substring(9).strip());
            }
        }
        for (String p : packages) {
            if (!versions.containsKey(p)) {
                throw new IOException("apt knows no version of " + p);
            }
        }
        return versions;
    }

    private static String aptCache(List<String> apt, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("apt-cache"));
        cmd.addAll(apt);
        cmd.addAll(args);
        return Exec.check(cmd, null, Map.of(), Duration.ofMinutes(2));
    }

    /**
     * Deletes builds for other package versions unused for a week (a reuse touches its directory) and scratch
     * directories of crashed builds; the lock is held, so no build is under way.
     */
    private void prune(String keep) {
        Instant weekAgo = Instant.now().minus(Duration.ofDays(7));
        try (Stream<Path> entries = Files.list(cacheRoot)) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                boolean oldBuild = name.matches("[0-9a-f]{16}") && !name.equals(keep)
                        && Files.getLastModifiedTime(p).toInstant().isBefore(weekAgo);
                if (oldBuild || name.startsWith(".tmp-")) {
                    log.info("deleting {}", p);
                    deleteRecursively(p);
                }
            }
        } catch (IOException e) {
            log.warn("could not prune {}: {}", cacheRoot, e.toString());
        }
    }

    static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
