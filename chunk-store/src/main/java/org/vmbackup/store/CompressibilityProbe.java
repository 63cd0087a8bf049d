package org.vmbackup.store;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import java.nio.ByteBuffer;

/**
 * Guesses from a sample whether a chunk would shrink under zstd, so that a chunk that would not (compressed or
 * encrypted guest data, random bytes) is stored raw without compressing all of it: the "early abort" of OpenZFS's
 * zstd and borg's {@code auto} compression. The sample is {@link #SLICES} slices spread over the chunk, so that a
 * chunk that is partly compressible (a file's tail, then zeros) shows it. A wrong "no" costs only space (the
 * chunk is kept raw, as the format already allows for chunks that do not shrink); a wrong "yes" costs the full
 * compression, as without the probe. Data that repeats only at distances longer than a slice (a block copied
 * within the chunk) looks random to the sample and is kept raw. Not thread-safe: one per thread (its scratch
 * buffers).
 */
final class CompressibilityProbe {
    static final int SLICES = 8;
    static final int SLICE = 4096;
    static final int SAMPLE = SLICES * SLICE;
    /** Smaller chunks are compressed whole: the probe would cost a large part of that. */
    static final int MIN_CHUNK = 4 * SAMPLE;

    private final ByteBuffer sample = ByteBuffer.allocateDirect(SAMPLE);
    private final ByteBuffer packed = ByteBuffer.allocateDirect(Math.toIntExact(Zstd.compressBound(SAMPLE)));

    /**
     * Whether {@code plain} (position to limit, not consumed) is worth compressing with {@code z}: true when it
     * is small or its sample shrinks by at least 1/64. Random bytes never do (zstd's frame is a little longer than
     * its input); chunks of a /usr tree that shrink by less than that are few and save little
     * (BENCHMARKS.md, "Chunk store with a VM").
     */
    boolean worthCompressing(ByteBuffer plain, ZstdCompressCtx z) {
        int len = plain.remaining();
        if (len < MIN_CHUNK) {
            return true;
        }
        int stride = (len - SLICE) / (SLICES - 1);
        for (int i = 0; i < SLICES; i++) {
            sample.put(i * SLICE, plain, plain.position() + i * stride, SLICE);
        }
        long n;
        try {
            n = z.compressDirectByteBuffer(packed, 0, packed.capacity(), sample, 0, SAMPLE);
        } catch (ZstdException e) {
            return true; // the full compression decides (and falls back to raw on its own error)
        }
        return n < SAMPLE - SAMPLE / 64;
    }
}
