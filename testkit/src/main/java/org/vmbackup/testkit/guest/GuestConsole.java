package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The guest's serial console, read from the file QEMU writes it to. Every wait is bounded and fails early, with
 * QEMU's output, when QEMU has exited. Lines lose their {@code \r}. Thread-safe.
 */
public final class GuestConsole {
    private static final long POLL_MS = 50;

    private final Path file;
    private final BooleanSupplier alive;
    private final Supplier<String> qemuOutput;
    private final List<String> lines = new ArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private long position;
    private long lastTick = -1;
    private long lastRecord = -1;
    private final List<RecordWrite> writes = new ArrayList<>();

    /**
     * A console read from {@code file}.
     *
     * @param alive whether the VM still runs (a wait ends early when it stops)
     * @param qemuOutput QEMU's own output, for failure messages
     */
    public GuestConsole(Path file, BooleanSupplier alive, Supplier<String> qemuOutput) {
        this.file = file;
        this.alive = alive;
        this.qemuOutput = qemuOutput;
    }

    /** The console file. */
    public Path file() {
        return file;
    }

    /** All complete lines so far. */
    public synchronized List<String> lines() {
        poll();
        return List.copyOf(lines);
    }

    /** The last {@code tick N} counter value seen, if any. */
    public synchronized OptionalLong lastTick() {
        poll();
        return lastTick < 0 ? OptionalLong.empty() : OptionalLong.of(lastTick);
    }

    /**
     * One record the workload appended and synced, from its console line {@code rec N US}.
     *
     * @param record the record number N
     * @param micros how long the append and its fsync took in the guest (its own clock), in microseconds; -1 when
     *     the line did not say
     */
    public record RecordWrite(long record, long micros) {
    }

    /** Every record write seen so far, in console order (the write latency the guest's workload measured). */
    public synchronized List<RecordWrite> recordWrites() {
        poll();
        return List.copyOf(writes);
    }

    /** The last {@code rec N} (record N written and synced) seen, if any. */
    public synchronized OptionalLong lastRecord() {
        poll();
        return lastRecord < 0 ? OptionalLong.empty() : OptionalLong.of(lastRecord);
    }

    /** Waits until the counter reaches at least {@code tick}; returns the value seen. */
    public long awaitTick(long tick, Duration timeout) throws TimeoutException, InterruptedException {
        await(() -> lastTick >= tick, timeout, "console counter 'tick " + tick + "'");
        return lastTick().orElseThrow();
    }

    /** Waits until record {@code record} was announced written; returns the last record seen. */
    public long awaitRecord(long record, Duration timeout) throws TimeoutException, InterruptedException {
        await(() -> lastRecord >= record, timeout, "record 'rec " + record + "'");
        return lastRecord().orElseThrow();
    }

    /** Waits for a line matching {@code match} (also one already seen); returns it. */
    public String awaitLine(Predicate<String> match, Duration timeout, String what)
            throws TimeoutException, InterruptedException {
        String[] found = new String[1];
        await(() -> {
            for (String l : lines) {
                if (match.test(l)) {
                    found[0] = l;
                    return true;
                }
            }
            return false;
        }, timeout, what);
        return found[0];
    }

    private void await(BooleanSupplier condition, Duration timeout, String what)
            throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            synchronized (this) {
                poll();
                if (condition.getAsBoolean()) {
                    return;
                }
            }
            if (!alive.getAsBoolean()) {
                synchronized (this) {
                    poll();
                    if (condition.getAsBoolean()) {
                        return;
                    }
                }
                throw new IllegalStateException("QEMU exited while waiting for " + what + "; console: " + tail()
                        + "; QEMU: " + qemuOutput.get().strip());
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("no " + what + " on the guest console within " + timeout + "; console: "
                        + tail());
            }
            Thread.sleep(POLL_MS);
        }
    }

    /** The last lines, for failure messages. */
    public synchronized String tail() {
        poll();
        List<String> last = lines.subList(Math.max(0, lines.size() - 15), lines.size());
        return String.join(" | ", last) + (partial.length() > 0 ? " | " + partial : "");
    }

    private void poll() {
        if (!Files.exists(file)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() < position) {
                // QEMU truncates the file when it starts: a new QEMU on the same file.
                position = 0;
                partial.setLength(0);
                lines.clear();
                lastTick = -1;
                lastRecord = -1;
                writes.clear();
            }
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (ch.read(buf, position) > 0) {
                buf.flip();
                position += buf.remaining();
                partial.append(StandardCharsets.ISO_8859_1.decode(buf));
                buf.clear();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the guest console " + file, e);
        }
        int nl;
        while ((nl = partial.indexOf("\n")) >= 0) {
            String line = partial.substring(0, nl).replace("\r", "");
            partial.delete(0, nl + 1);
            lines.add(line);
            lastTick = Math.max(lastTick, number(line, "tick "));
            long record = number(line, "rec ");
            if (record >= 0) {
                lastRecord = Math.max(lastRecord, record);
                String[] f = line.strip().split(" ");
                writes.add(new RecordWrite(record, f.length == 3 ? parse(f[2]) : -1));
            }
        }
    }

    /** The number after {@code prefix} (the first word after it: {@code rec N US}), or -1. */
    public static long number(String line, String prefix) {
        if (!line.startsWith(prefix)) {
            return -1;
        }
        String rest = line.substring(prefix.length()).strip();
        int space = rest.indexOf(' ');
        return parse(space < 0 ? rest : rest.substring(0, space));
    }

    private static long parse(String s) {
        try {
            long n = Long.parseLong(s);
            return n < 0 ? -1 : n;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
