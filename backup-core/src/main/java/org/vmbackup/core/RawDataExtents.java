package org.vmbackup.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The data extents of a raw file, from the file system's holes ({@code SEEK_DATA}/{@code SEEK_HOLE}, which the JDK
 * does not offer) as {@code qemu-img map} reports them.
 */
final class RawDataExtents {
    /** The most data extents kept for one file (16 bytes each). */
    private static final int MAX_EXTENTS = 1 << 18;
    private static final Pattern MAP_LINE = Pattern.compile(
            "\\{\\s*\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),.*\"data\":\\s*(true|false)[,}].*");
    /** How long {@code qemu-img map} may take before the file is read whole instead. */
    private static final long MAP_SECONDS = 60;

    private RawDataExtents() {
    }

    /**
     * The data extents {@code [start, length]} of the raw file of {@code size} bytes, in order, adjacent ones merged;
     * the whole file when qemu-img is not there or says something unexpected (every byte is then read and scanned).
     * A hole reads as zeroes by definition, so skipping it cannot change what a restore writes.
     */
    static List<long[]> of(Path file, long size) {
        List<long[]> whole = size == 0 ? List.of() : List.<long[]>of(new long[] {0, size});
        if (size == 0) {
            return whole;
        }
        Process p = null;
        try {
            p = new ProcessBuilder("qemu-img", "map", "--output=json", "-f", "raw", file.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            // the reads below end when qemu-img exits: a qemu-img that hangs is killed, and the file read whole
            Process started = p;
            CompletableFuture.delayedExecutor(MAP_SECONDS, TimeUnit.SECONDS).execute(started::destroyForcibly);
            List<long[]> out = new ArrayList<>();
            long expect = 0;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    line = line.strip();
                    if (line.isEmpty() || line.equals("[") || line.equals("]")) {
                        continue;
                    }
                    Matcher m = MAP_LINE.matcher(line.startsWith("[") ? line.substring(1) : line);
                    if (!m.matches()) {
                        return whole;
                    }
                    long start = Long.parseLong(m.group(1));
                    long length = Long.parseLong(m.group(2));
                    if (start != expect || length <= 0) {
                        return whole;
                    }
                    expect = start + length;
                    if (m.group(3).equals("true")) {
                        if (out.size() >= MAX_EXTENTS) {
                            return whole; // bounded memory: a file this fragmented is read whole
                        }
                        long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
                        if (last != null && last[0] + last[1] == start) {
                            last[1] += length;
                        } else {
                            out.add(new long[] {start, length});
                        }
                    }
                }
            }
            if (!p.waitFor(MAP_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0 || expect != size) {
                return whole;
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return whole;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return whole;
        } finally {
            if (p != null) {
                p.destroy();
            }
        }
    }
}
