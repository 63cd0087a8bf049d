package org.vmbackup.nbd.internal;

import io.netty.channel.Channel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.vmbackup.nbd.NbdExport;

/** A registered export with its counters and the connections currently using it. */
public final class ExportEntry {
    private final NbdExport export;
    private final ExportMetricsRecorder metrics;
    private final Set<Channel> channels = ConcurrentHashMap.newKeySet();

    /** Wraps a newly added export. */
    public ExportEntry(NbdExport export) {
        this.export = export;
        this.metrics = new ExportMetricsRecorder(export.name());
    }

    /** The export as added. */
    public NbdExport export() {
        return export;
    }

    /** Its counters. */
    public ExportMetricsRecorder metrics() {
        return metrics;
    }

    /** Connections in transmission on this export. */
    public Set<Channel> channels() {
        return channels;
    }

    void attach(Channel channel) {
        channels.add(channel);
        metrics.connectionOpened();
        channel.closeFuture().addListener(f -> {
            channels.remove(channel);
            metrics.connectionClosed();
        });
    }
}
