package org.vmbackup.nbd.internal;

import java.util.concurrent.atomic.LongAdder;
import org.vmbackup.nbd.NbdExportMetrics;

/** Lock-free counters of one export, updated from every connection's event loop. */
public final class ExportMetricsRecorder {
    private final String export;
    private final LongAdder connections = new LongAdder();
    private final LongAdder totalConnections = new LongAdder();
    private final LongAdder reads = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder writes = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder bytesWrittenInPlace = new LongAdder();
    private final LongAdder zeroes = new LongAdder();
    private final LongAdder bytesZeroed = new LongAdder();
    private final LongAdder trims = new LongAdder();
    private final LongAdder bytesTrimmed = new LongAdder();
    private final LongAdder flushes = new LongAdder();
    private final LongAdder caches = new LongAdder();
    private final LongAdder blockStatus = new LongAdder();
    private final LongAdder errors = new LongAdder();

    /** Counters for the named export, all zero. */
    public ExportMetricsRecorder(String export) {
        this.export = export;
    }

    void connectionOpened() {
        connections.increment();
        totalConnections.increment();
    }

    void connectionClosed() {
        connections.decrement();
    }

    /**
     * Counts one request that completed successfully; {@code inPlaceBytes}: of a WRITE's payload, the bytes received
     * straight into backend memory.
     */
    void completed(int command, long length, long inPlaceBytes) {
        switch (command) {
            case NbdConstants.CMD_READ -> add(reads, bytesRead, length);
            case NbdConstants.CMD_WRITE -> {
                add(writes, bytesWritten, length);
                if (inPlaceBytes > 0) {
                    bytesWrittenInPlace.add(inPlaceBytes);
                }
            }
            case NbdConstants.CMD_WRITE_ZEROES -> add(zeroes, bytesZeroed, length);
            case NbdConstants.CMD_TRIM -> add(trims, bytesTrimmed, length);
            case NbdConstants.CMD_FLUSH -> flushes.increment();
            case NbdConstants.CMD_CACHE -> caches.increment();
            case NbdConstants.CMD_BLOCK_STATUS -> blockStatus.increment();
            default -> { }
        }
    }

    void failed() {
        errors.increment();
    }

    private static void add(LongAdder count, LongAdder bytes, long length) {
        count.increment();
        bytes.add(length);
    }

    /** An immutable snapshot of the counters. */
    public NbdExportMetrics snapshot() {
        return new NbdExportMetrics(export, connections.sum(), totalConnections.sum(), reads.sum(),
                bytesRead.sum(), writes.sum(), bytesWritten.sum(), bytesWrittenInPlace.sum(), zeroes.sum(),
                bytesZeroed.sum(), trims.sum(), bytesTrimmed.sum(), flushes.sum(), caches.sum(), blockStatus.sum(),
                errors.sum());
    }
}
