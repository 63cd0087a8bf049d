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

    /** A parsed marker. */
    record Marker(String name, String id, String host, long pid, Instant start) {
        /**
         * True when the marker's process is on this host and no longer runs. (Inside this record a bare
         * {@code host()} is the accessor of the marker's own host: this host is {@link Markers#host()}.)
         */
        boolean dead() {
            return host.equals(Markers.host()) && pid != ProcessHandle.current().pid()
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

    static ByteBuffer content(String id, Instant start) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("host", host());
        m.put("pid", ProcessHandle.current().pid());
        m.put("start", start.toString());
        return ByteBuffer.wrap(Json.write(m));
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
            return Optional.of(new Marker(name, Json.string(m, "id", name), Json.string(m, "host", name),
                    Json.number(m, "pid", name), Instant.parse(Json.string(m, "start", name))));
        } catch (CorruptDataException | java.time.DateTimeException e) {
            return Optional.empty();
        }
    }
}
