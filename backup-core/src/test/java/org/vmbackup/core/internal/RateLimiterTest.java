package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RateLimiterTest {
    private static final long MS = 1_000_000L;

    /** A clock that only moves when the limiter sleeps, recording every sleep. */
    private static final class FakeTime {
        long now = 5_000 * MS; // not 0: the limiter must not assume a zero epoch
        final List<Long> sleeps = new ArrayList<>();

        RateLimiter limiter(long rate) {
            return RateLimiter.of(rate, () -> now, n -> {
                sleeps.add(n);
                now += n;
            });
        }
    }

    @Test
    void aLongRunPassesAtTheRatePlusOneBurst() throws Exception {
        FakeTime t = new FakeTime();
        RateLimiter l = t.limiter(1 << 20); // 1 MiB/s
        long start = t.now;
        for (int i = 0; i < 100; i++) {
            l.acquire(64 << 10); // 6.25 MiB in 64 KiB chunks
        }
        // 6.25 s at the rate, less the 100 ms burst granted up front
        assertThat(t.now - start).isEqualTo(6_250 * MS - RateLimiter.BURST_NANOS);
    }

    @Test
    void theFirstBurstPassesWithoutSleeping() throws Exception {
        FakeTime t = new FakeTime();
        RateLimiter l = t.limiter(1_000_000); // 100 ms of it is 100 000 bytes
        l.acquire(50_000);
        l.acquire(50_000);
        assertThat(t.sleeps).isEmpty();
        l.acquire(1_000);
        assertThat(t.sleeps).containsExactly(1 * MS);
    }

    @Test
    void idleTimeIsNotSavedUpBeyondTheBurst() throws Exception {
        FakeTime t = new FakeTime();
        RateLimiter l = t.limiter(1_000_000);
        l.acquire(100_000);
        t.now += 10_000 * MS; // ten idle seconds
        l.acquire(100_000); // one burst: free
        assertThat(t.sleeps).isEmpty();
        l.acquire(100_000); // the next 100 ms worth must wait for it
        assertThat(t.sleeps).containsExactly(100 * MS);
    }

    @Test
    void aBookingLargerThanTheBucketWaitsInProportion() throws Exception {
        FakeTime t = new FakeTime();
        RateLimiter l = t.limiter(1 << 20);
        l.acquire(4 << 20);
        assertThat(t.sleeps).containsExactly(4_000 * MS - RateLimiter.BURST_NANOS);
    }

    @Test
    void zeroIsUnlimitedAndNeverSleeps() throws Exception {
        FakeTime t = new FakeTime();
        RateLimiter l = t.limiter(0);
        assertThat(l.unlimited()).isTrue();
        for (int i = 0; i < 1000; i++) {
            l.acquire(RateLimiter.MAX_ACQUIRE);
        }
        assertThat(t.sleeps).isEmpty();
    }

    @Test
    void badArgumentsAreRefusedWithAMessage() {
        assertThatThrownBy(() -> RateLimiter.of(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bandwidth limit").hasMessageContaining("-1");
        RateLimiter l = RateLimiter.of(1000);
        assertThatThrownBy(() -> l.acquire(-5)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-5");
        assertThatThrownBy(() -> l.acquire(RateLimiter.MAX_ACQUIRE + 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aTotalIsSharedSoThePartsNeverExceedIt() {
        assertThat(RateLimiter.share(0, 3)).as("unlimited stays unlimited").isZero();
        assertThat(RateLimiter.share(30 << 20, 1)).isEqualTo(30 << 20);
        assertThat(RateLimiter.share(10, 3)).isEqualTo(3);
        assertThat(RateLimiter.share(2, 5)).as("never 0, which QEMU reads as unlimited").isEqualTo(1);
        assertThatThrownBy(() -> RateLimiter.share(-1, 2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void threadsShareOneRate() throws Exception {
        // real clock: two threads booking 200 KiB each at 1 MiB/s together take ~0.39 - 0.1 s, not half of it
        RateLimiter l = RateLimiter.of(1 << 20);
        long t0 = System.nanoTime();
        Thread[] ts = new Thread[2];
        AtomicReference<Throwable> failed = new AtomicReference<>();
        for (int i = 0; i < ts.length; i++) {
            ts[i] = new Thread(() -> {
                try {
                    for (int k = 0; k < 25; k++) {
                        l.acquire(8 << 10);
                    }
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            ts[i].start();
        }
        for (Thread th : ts) {
            th.join(10_000);
        }
        long took = System.nanoTime() - t0;
        assertThat(failed.get()).isNull();
        assertThat(took).isGreaterThanOrEqualTo(390 * MS - RateLimiter.BURST_NANOS - 5 * MS);
    }

    @Test
    void aWaitIsInterruptibleAndAcquireIoKeepsTheFlag() throws Exception {
        RateLimiter l = RateLimiter.of(1); // 1 byte per second: any real booking waits for ages
        CountDownLatch entered = new CountDownLatch(1);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        AtomicReference<Boolean> flag = new AtomicReference<>();
        Thread th = new Thread(() -> {
            entered.countDown();
            try {
                l.acquireIo(1000);
            } catch (Throwable e) {
                seen.set(e);
                flag.set(Thread.currentThread().isInterrupted());
            }
        });
        th.start();
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(50);
        th.interrupt();
        th.join(5_000);
        assertThat(th.isAlive()).as("the interrupted wait ended").isFalse();
        assertThat(seen.get()).isInstanceOf(InterruptedIOException.class).hasMessageContaining("bandwidth limit");
        assertThat(flag.get()).isTrue();
    }
}
