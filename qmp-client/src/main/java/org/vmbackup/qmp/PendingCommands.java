package org.vmbackup.qmp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The commands waiting for replies, keyed by the client-generated id. Thread-safe: whoever removes an entry
 * (reply, timeout, write failure, disconnect) owns completing it, so each future completes exactly once.
 * Futures are completed and replies decoded on the callback executor, never on the network thread.
 */
final class PendingCommands {
    /** Ids are {@code "vmb-N"}; a reply with any other id is not ours. */
    static final String ID_PREFIX = "vmb-";

    private final ConcurrentSkipListMap<Long, Entry<?>> pending = new ConcurrentSkipListMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    // Sequence numbers of sent descriptor commands whose reply has not arrived, kept past a timeout: QEMU's
    // parse errors for the dummy byte come before that reply, however late, and belong to no later command.
    private final Set<Long> fdCommandsUnanswered = ConcurrentHashMap.newKeySet();
    private final Executor callbacks;

    PendingCommands(Executor callbacks) {
        this.callbacks = callbacks;
    }

    /** A fresh sequence number; the wire id is {@link #wireId(long)}. */
    long nextSequence() {
        return nextId.getAndIncrement();
    }

    static String wireId(long seq) {
        return ID_PREFIX + seq;
    }

    /** The sequence number of a reply's id, or null if it is not one of ours. */
    static Long parseId(Json id) {
        if (id instanceof JsonString s && s.value().startsWith(ID_PREFIX)) {
            try {
                return Long.parseLong(s.value().substring(ID_PREFIX.length()));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    <R> Entry<R> add(long seq, QmpCommand<R> command, CompletableFuture<R> future, boolean carriesFd) {
        Entry<R> e = new Entry<>(command, future, carriesFd);
        if (carriesFd) {
            fdCommandsUnanswered.add(seq);
        }
        pending.put(seq, e);
        return e;
    }

    /** A descriptor command's bytes did not go out: no parse error will come for them. */
    void unsent(long seq) {
        fdCommandsUnanswered.remove(seq);
    }

    /** Removes the entry if it is still waiting; the caller then completes it. */
    boolean remove(long seq, Entry<?> e) {
        if (pending.remove(seq, e)) {
            e.release();
            return true;
        }
        return false;
    }

    /** Removes and returns the entry for a reply, or null when none waits (timed out, unknown id). */
    Entry<?> take(long seq) {
        fdCommandsUnanswered.remove(seq);
        Entry<?> e = pending.remove(seq);
        if (e != null) {
            e.release();
        }
        return e;
    }

    /** Removes and returns the oldest waiting entry, or null. */
    Entry<?> takeOldest() {
        while (true) {
            Map.Entry<Long, Entry<?>> oldest = pending.firstEntry();
            if (oldest == null) {
                return null;
            }
            if (remove(oldest.getKey(), oldest.getValue())) {
                return oldest.getValue();
            }
        }
    }

    /** Removes every waiting entry. */
    List<Entry<?>> takeAll() {
        List<Entry<?>> all = new ArrayList<>();
        for (Long k : pending.keySet()) {
            Entry<?> e = take(k);
            if (e != null) {
                all.add(e);
            }
        }
        return all;
    }

    /** Whether a command carrying a file descriptor awaits its reply (its dummy byte may cause parse errors). */
    boolean fdTransferInFlight() {
        return !fdCommandsUnanswered.isEmpty();
    }

    /** Fails an entry on the callback executor. */
    void fail(Entry<?> e, Throwable error) {
        callbacks.execute(() -> e.future.completeExceptionally(error));
    }

    /** Completes an entry from its reply message on the callback executor (large replies decode there). */
    void complete(Entry<?> e, JsonObject reply) {
        callbacks.execute(() -> e.completeFrom(reply));
    }

    /** A command waiting for its reply. */
    static final class Entry<R> {
        final QmpCommand<R> command;
        final CompletableFuture<R> future;
        final boolean carriesFd;
        volatile ScheduledFuture<?> timer;

        Entry(QmpCommand<R> command, CompletableFuture<R> future, boolean carriesFd) {
            this.command = command;
            this.future = future;
            this.carriesFd = carriesFd;
        }

        String name() {
            return command.name();
        }

        private void release() {
            ScheduledFuture<?> t = timer;
            if (t != null) {
                t.cancel(false);
            }
        }

        private void completeFrom(JsonObject reply) {
            try {
                Json error = reply.get("error");
                if (error != null) {
                    future.completeExceptionally(new QmpErrorException(
                            error.opt("class").map(Json::asString).orElse("GenericError"),
                            error.opt("desc").map(Json::asString).orElse(""), command.name()));
                    return;
                }
                Json ret = reply.get("return");
                if (ret == null) {
                    throw new QmpProtocolException("reply has neither 'return' nor 'error': "
                            + JsonCodec.abbreviate(reply));
                }
                future.complete(command.decode(ret));
            } catch (RuntimeException | Error e) {
                // An Error too (a decoder's assertion, a missing class): escaping, it left the future pending
                // for ever, its timer already cancelled.
                String why = e instanceof QmpProtocolException ? e.getMessage() : e.toString();
                future.completeExceptionally(new QmpProtocolException("cannot decode the reply to " + command.name()
                        + ": " + why, e));
                if (e instanceof VirtualMachineError v) {
                    throw v;
                }
            }
        }
    }
}
