package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Markers of running writers and of the running gc (FORMAT.md): who (host, pid) and since when, so that a gc can
 * spare what running backups use and tell a dead process's marker from a live one on the same host.
 */
final class Markers {
    static final String WRITERS = "writers/";
    static final String GC_LOCK = "locks/gc";
    /**
     * File times come from the kernel's coarse clock, a few milliseconds behind {@code Instant.now()}: a chunk
     * touched just after a marker's start could look older than it. Starts and cutoffs keep this much margin.
     */
    static final java.time.Duration CLOCK_SLACK = java.time.Duration.ofSeconds(1);

    /** A parsed marker; {@code machine} is empty in markers of earlier versions. */
    record Marker(String name, String id, String host, String machine, long pid, Instant start) {
        /**
         * True when the marker's process is on this host and no longer runs. A host name alone does not say so:
         * machines cloned or containers named alike share one, and a pid means something only in its own kernel
         * boot and pid namespace; so the marker's {@code machine} must be this one's too (a marker without one, of
         * an earlier version, is never taken for dead). (Inside this record a bare {@code host()} is the accessor
         * of the marker's own host: this host is {@link Markers#host()}.)
         */
        boolean dead() {
            return host.equals(Markers.host()) && machine.equals(Markers.machine()) && !machine.isEmpty()
                    && pid != ProcessHandle.current().pid()
                    && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }

        String describe() {
            return "host " + host + ", pid " + pid + ", started " + start;
        }
    }

    private Markers() {
    }

    static String host() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = Files.readString(Path.of("/etc/hostname")).trim();
            } catch (IOException e) {
                h = "localhost";
            }
        }
        return h;
    }

    /**
     * The kernel boot and pid namespace this process runs in ({@code BOOT_ID:PIDNS}), in which its pid is
     * meaningful; empty where they cannot be read (then no marker is ever taken for a dead process's).
     */
    static String machine() {
        return MACHINE;
    }

    private static final String MACHINE = readMachine();

    private static String readMachine() {
        try {
            String boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
            String ns = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString(); // pid:[4026531836]
            return boot + ":" + ns.replaceAll("[^0-9]", "");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return "";
        }
    }

    static ByteBuffer content(String id, Instant start) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("host", host());
        m.put("machine", machine());
        m.put("pid", ProcessHandle.current().pid());
        m.put("start", start.toString());
        return ByteBuffer.wrap(Json.write(m));
    }

    /**
     * {@link StoreBackend#putIfAbsent} of a marker. When that fails, the server may still carry out its PUT after
     * this process gave up on it (S3: a request whose answer was lost), which would leave a marker of a live
     * process that other machines honour until it is removed by hand (the lock: every gc refused; a writer's: gc's
     * cutoff held back). So a failure waits until that PUT can no longer land and removes the marker if it is
     * this call's ({@code content} names this process and an instant: no other call's compares equal).
     */
    static boolean take(StoreBackend b, String name, ByteBuffer content) throws IOException {
        try {
            return b.putIfAbsent(name, content);
        } catch (IOException e) {
            try {
                if (b.awaitLateLanding(e) && b.get(name).map(x -> x.equals(content)).orElse(false)) {
                    b.deleteOnce(name);
                }
            } catch (IOException | RuntimeException x) {
                e.addSuppressed(x);
            }
            throw e;
        }
    }

    /** Reads marker {@code name}; empty when it is gone or unreadable (a half-written marker is no marker). */
    static Optional<Marker> read(StoreBackend b, String name) throws IOException {
        Optional<ByteBuffer> data = b.get(name);
        if (data.isEmpty()) {
            return Optional.empty();
        }
        byte[] bytes = new byte[data.get().remaining()];
        data.get().get(bytes);
        try {
            Map<String, Object> m = Json.read(bytes, name);
            String machine = m.get("machine") instanceof String x ? x : "";
            return Optional.of(new Marker(name, Json.string(m, "id", name), Json.string(m, "host", name), machine,
                    Json.number(m, "pid", name), Instant.parse(Json.string(m, "start", name))));
        } catch (CorruptDataException | java.time.DateTimeException e) {
            return Optional.empty();
        }
    }
}
