package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tiny real Linux guest for integration tests: Debian 12's kernel and an initramfs with busybox, the QEMU guest
 * agent and e2fsprogs, built from Debian packages on first use and cached under
 * {@code ${XDG_CACHE_HOME:-~/.cache}/vmbackup/guest/KEY} (KEY hashes the package versions and the init script).
 *
 * <p>Its {@code /init} loads the virtio and ext4 modules, mounts the ext4 data disk {@code /dev/vda} at
 * {@code /data} (formatting a blank one), starts {@code qemu-ga} on the virtio-serial port
 * {@code org.qemu.guest_agent.0}, and runs the workload {@link GuestConsole} and {@link GuestRecords} observe:
 * {@code tick N} on the serial console every 100 ms, and records appended and fsync'ed to {@code /data/records}
 * (each announced as {@code rec N US}, US the microseconds the append and fsync took). {@link GuestVm} boots it.
 *
 * <pre>{@code
 * TinyGuest guest = TinyGuest.build();          // cached: a second or two; cold: tens of seconds
 * try (GuestVm vm = GuestVm.builder(guest).start()) {
 *     vm.console().awaitTick(10, Duration.ofMinutes(2));
 * }
 * }</pre>
 *
 * @param dir the cache directory of this build
 * @param kernelVersion the kernel's release, e.g. {@code 6.1.0-57-amd64}
 * @param packages the Debian packages it was built from, name to version
 */
public record TinyGuest(Path dir, String kernelVersion, Map<String, String> packages) {
    static final String PROPERTIES = "guest.properties";
    static final String VMLINUX = "vmlinux";
    static final String BZIMAGE = "vmlinuz";
    static final String INITRD = "initrd.img";
    static final String TOOLS = "e2fsprogs";
    static final List<String> HOST_TOOLS = List.of("e2fsck", "debugfs", "mke2fs");
    private static final Map<Path, TinyGuest> BUILT = new ConcurrentHashMap<>();

    /** Copies the package map. */
    public TinyGuest {
        packages = Map.copyOf(packages);
    }

    /**
     * The guest for the current Debian package versions, from the cache or built now (needs {@code apt-get},
     * {@code apt-cache}, {@code dpkg} and network access to the machine's Debian mirror on a cold cache).
     *
     * @throws IllegalStateException saying what is missing when it cannot be built
     */
    public static TinyGuest build() {
        return build(cacheRoot());
    }

    static TinyGuest build(Path cacheRoot) {
        try {
            // Package versions do not change during a test run: resolve them (apt-cache, seconds) once per JVM.
            TinyGuest built = BUILT.get(cacheRoot);
            if (built != null && Files.isRegularFile(built.dir().resolve(PROPERTIES))) {
                return built;
            }
            built = new TinyGuestBuilder(cacheRoot).buildOrReuse();
            BUILT.put(cacheRoot, built);
            return built;
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot build the tiny test guest (a kernel and initramfs from Debian 12 "
                    + "packages, fetched with apt-get download into " + cacheRoot + "; needs apt-get, dpkg and the "
                    + "machine's Debian mirror, or a cache prepared by .ci/tiny-guest): " + e.getMessage(), e);
        }
    }

    /** Where builds are cached: {@code ${XDG_CACHE_HOME:-~/.cache}/vmbackup/guest}. */
    public static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg == null || xdg.isBlank() ? Path.of(System.getProperty("user.home"), ".cache") : Path.of(xdg);
        return base.resolve("vmbackup/guest");
    }

    static TinyGuest load(Path dir) throws IOException {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(dir.resolve(PROPERTIES))) {
            props.load(in);
        }
        Map<String, String> packages = new TreeMap<>();
        for (String name : props.stringPropertyNames()) {
            if (name.startsWith("package.")) {
                packages.put(name.substring("package.".length()), props.getProperty(name));
            }
        }
        return new TinyGuest(dir, props.getProperty("kernel"), packages);
    }

    /** The uncompressed kernel (ELF with a PVH entry): QEMU boots it about twice as fast as the bzImage. */
    public Path vmlinux() {
        return dir.resolve(VMLINUX);
    }

    /** The kernel as Debian ships it (a bzImage). */
    public Path bzImage() {
        return dir.resolve(BZIMAGE);
    }

    /** The gzip'ed cpio initramfs. */
    public Path initrd() {
        return dir.resolve(INITRD);
    }

    /** The cache key: a hash of the package versions, the builder version and the init script. */
    public String key() {
        return dir.getFileName().toString();
    }

    /**
     * A command line running the packaged e2fsprogs tool {@code tool} ({@code e2fsck}, {@code debugfs} or
     * {@code mke2fs}) on the host, through the packaged loader and libraries (independent of the host's e2fsprogs).
     */
    public List<String> e2fsprogs(String tool, String... args) {
        if (!HOST_TOOLS.contains(tool)) {
            throw new IllegalArgumentException("not one of " + HOST_TOOLS + ": " + tool);
        }
        Path tools = dir.resolve(TOOLS);
        List<String> cmd = new ArrayList<>(List.of(tools.resolve("lib/ld-linux-x86-64.so.2").toString(),
                "--library-path", tools.resolve("lib").toString(), tools.resolve(tool).toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
