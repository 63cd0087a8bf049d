package org.vmbackup.core.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.vmbackup.core.BackupException;
import org.vmbackup.core.ArchiveSink;
import org.vmbackup.qmp.command.MigrationCommands.Migrate;
import org.vmbackup.qmp.command.MigrationCommands.MigrateCancel;
import org.vmbackup.qmp.command.MigrationCommands.MigrateSetCapabilities;
import org.vmbackup.qmp.command.QueryCommands.MigrationInfo;
import org.vmbackup.qmp.command.QueryCommands.QueryMigrate;
import org.vmbackup.qmp.command.QueryCommands.QueryMigrateCapabilities;

/**
 * The step that takes the guest's RAM and device state: a background-snapshot migration into our receiver. Its
 * parts and their undo: the receiver (closed), the migration capabilities (put back as they were), and the
 * migration itself (ended by letting it finish into the void, see {@link #end}).
 */
final class VmstateSnapshot {
    private static final Logger log = LoggerFactory.getLogger(VmstateSnapshot.class);
    private static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(10);
    /** How long an abandoned snapshot may take to finish into the void before it is cut off. */
    private static final Duration END_LIMIT = Duration.ofSeconds(60);

    private final VmstateReceiver receiver;

    private VmstateSnapshot(VmstateReceiver receiver) {
        this.receiver = receiver;
    }

    /**
     * Listens for the stream in {@code dir} and switches on the capabilities a background snapshot needs; nothing
     * is migrated yet.
     *
     * @param progress told about every stored chunk's length
     * @param writeLimit the longest one archive write may take
     * @param wake called when the stream ended (well or not), to wake the session thread
     */
    static VmstateSnapshot prepare(QemuCalls q, Cleanup cleanup, PrivateDir dir, ArchiveSink sink,
            LongConsumer progress, String tag, Duration writeLimit, Runnable wake) throws IOException {
        VmstateReceiver receiver = VmstateReceiver.listen(dir.resolve("vmstate.sock"), sink.vmstateChannel(),
                progress, tag, writeLimit);
        cleanup.push("close VM state receiver", receiver::close);
        receiver.completion().whenComplete((v, e) -> wake.run());
        MigrationCapabilities caps = MigrationCapabilities.current(q.call(new QueryMigrateCapabilities()));
        var forward = caps.forSnapshot();
        if (forward.isPresent()) {
            cleanup.push("restore migration capabilities", () -> {
                for (MigrateSetCapabilities back : caps.restore().stream().toList()) {
                    q.tryRun(back, CLEANUP_TIMEOUT);
                }
            });
            q.call(forward.get());
        }
        return new VmstateSnapshot(receiver);
    }

    /** The {@code migrate} that starts the snapshot (a URI: QEMU 7.2 has no {@code channels}). */
    Migrate migrate() {
        return new Migrate("unix:" + receiver.socket());
    }

    /** Pushes the undo of a started snapshot. */
    void pushUndo(QemuCalls q, Cleanup cleanup) {
        cleanup.push("end the VM state snapshot", () -> end(q));
    }

    /** Completes with the stored stream's length. */
    CompletableFuture<Long> completion() {
        return receiver.completion();
    }

    /** Whether the stream was stored whole and QEMU says the snapshot completed. */
    boolean done(RunEvents events) {
        return "completed".equals(events.migrationStatus()) && receiver.completion().isDone();
    }

    /** Throws why the snapshot failed, if it did. */
    void check(RunEvents events) {
        String st = events.migrationStatus();
        if ("failed".equals(st) || "cancelled".equals(st)) {
            throw new BackupException("the VM state snapshot (background-snapshot migration) " + st);
        }
        if (receiver.completion().isCompletedExceptionally()) {
            try {
                receiver.completion().join();
            } catch (RuntimeException e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                throw c instanceof BackupException be ? be
                        : new BackupException("backup failed: " + (c.getMessage() == null ? c : c.getMessage()), c);
            }
        }
    }

    /**
     * Ends an unfinished snapshot by letting it finish into the void: the receiver drops the rest of the stream.
     * Cutting a background snapshot off (closing its socket, migrate_cancel) leaves QEMU 7.2 with guest RAM still
     * registered for write tracking: the next snapshot is refused or the monitor hangs. Only if the snapshot does
     * not end within a minute is it cut off.
     */
    private void end(QemuCalls q) throws InterruptedException {
        receiver.discard();
        if (settled(q, END_LIMIT)) {
            return;
        }
        log.warn("the VM state snapshot did not end within {} s: cancelling it", END_LIMIT.toSeconds());
        receiver.close();
        q.tryRun(new MigrateCancel(), CLEANUP_TIMEOUT);
        settled(q, Duration.ofSeconds(5));
    }

    private static boolean settled(QemuCalls q, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            MigrationInfo m = q.tryQuery(new QueryMigrate(), CLEANUP_TIMEOUT).orElse(null);
            if (m == null || !m.inProgress()) {
                return true; // QEMU gone (nothing to settle) or the migration over
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
    }
}
