package org.vmbackup.nbd;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.lang.reflect.Field;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Collects the ByteBuf leaks Netty's detector reports, so a test can fail on them instead of only logging. */
final class LeakRecorder implements ResourceLeakDetector.LeakListener {
    private final List<String> leaks = new CopyOnWriteArrayList<>();

    /** Installs a recorder on the ByteBuf leak detector; requires the PARANOID level the build sets. */
    static LeakRecorder install() throws ReflectiveOperationException {
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            throw new IllegalStateException("run with -Dio.netty.leakDetection.level=paranoid, level is "
                    + ResourceLeakDetector.getLevel());
        }
        Field f = AbstractByteBuf.class.getDeclaredField("leakDetector");
        f.setAccessible(true);
        ResourceLeakDetector<?> detector = (ResourceLeakDetector<?>) f.get(null);
        LeakRecorder r = new LeakRecorder();
        detector.setLeakListener(r);
        return r;
    }

    /**
     * Proves the recorder sees leaks: drops an unreleased buffer, waits for its report, then forgets it.
     *
     * @throws AssertionError if the deliberate leak is not reported
     */
    void selfCheck() throws InterruptedException {
        leakOne();
        for (int i = 0; i < 20 && leaks.isEmpty(); i++) {
            collect();
        }
        if (leaks.isEmpty()) {
            throw new AssertionError("leak detector did not report a deliberate leak");
        }
        leaks.clear();
    }

    private static void leakOne() {
        ByteBufAllocator.DEFAULT.directBuffer(64).writeLong(1);
    }

    @Override
    public void onLeak(String resourceType, String records) {
        leaks.add(resourceType + ": " + records);
    }

    /** Forces collection and the detector's queue processing, then returns the leaks seen. */
    List<String> collect() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            // The detector reports collected leaks when the next buffers are tracked.
            for (int j = 0; j < 64; j++) {
                ByteBuf a = ByteBufAllocator.DEFAULT.directBuffer(16);
                ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
                a.release();
                b.release();
            }
        }
        return List.copyOf(leaks);
    }
}
