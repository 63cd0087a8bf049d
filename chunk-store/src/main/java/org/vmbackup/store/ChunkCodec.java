package org.vmbackup.store;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Turns chunk plaintext into a chunk object and back (FORMAT.md, "Chunk object"): digest (SHA-256 or keyed),
 * zstd when it shrinks (a sample decides first whether to try: {@link CompressibilityProbe}; never in a store made
 * without compression), AES-256-GCM when the store is encrypted. Thread-safe: per-thread scratch buffers, so
 * the memory is bounded by the number of threads encoding.
 */
final class ChunkCodec {
    static final int HEADER = 16;
    /** Object buffers start at a multiple of this (the largest block size LocalBackend's O_DIRECT writes use). */
    static final int ALIGN = 4096;
    private static final int MAGIC = 0x5642434b; // "VBCK"
    private static final int IV = 12;
    private static final int TAG = 16;
    private static final int ZSTD = 1;
    private static final int ENCRYPTED = 2;
    private static final int WARM_UP_PIECE = 256;
    private static final int WARM_UP_CALLS = 20_000;

    private final int chunkSize;
    private final int level;
    private final byte[] digestKey;
    private final SecretKeySpec encKey;
    private final SecureRandom random = new SecureRandom();
    private final ThreadLocal<Scratch> scratch;
    /** Idle zstd contexts: at most one per thread that encodes at a time (native memory, closed by close()). */
    private final ConcurrentLinkedQueue<ZstdCompressCtx> compressors = new ConcurrentLinkedQueue<>();

    /** One thread's reusable state. */
    private final class Scratch {
        /** Encrypted stores only: the zstd frame, before it is encrypted into {@link #object}. */
        final ByteBuffer packed = digestKey == null ? null : ByteBuffer.allocateDirect(Math.toIntExact(Zstd.compressBound(chunkSize)));
        /** Aligned, so that LocalBackend can write it with O_DIRECT; a plain store compresses straight into it. */
        final ByteBuffer object = aligned(HEADER + IV + Math.toIntExact(Zstd.compressBound(chunkSize)) + TAG);
        final CompressibilityProbe probe = new CompressibilityProbe();
        final MessageDigest sha;
        final Mac mac;
        final Cipher cipher;

        Scratch() {
            try {
                sha = MessageDigest.getInstance("SHA-256");
                if (digestKey != null) {
                    mac = Mac.getInstance("HmacSHA256");
                    mac.init(new SecretKeySpec(digestKey, "HmacSHA256"));
                    cipher = Cipher.getInstance("AES/GCM/NoPadding");
                } else {
                    mac = null;
                    cipher = null;
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JDK lacks SHA-256, HmacSHA256 or AES/GCM", e);
            }
        }
    }

    /** A direct buffer of at least {@code size} bytes starting at a multiple of {@link #ALIGN}. */
    static ByteBuffer aligned(int size) {
        // alignedSlice also rounds the end down to a multiple: room for a whole block more at both ends
        int whole = (size + ALIGN - 1) & -ALIGN;
        return ByteBuffer.allocateDirect(whole + ALIGN).alignedSlice(ALIGN).limit(size).slice();
    }

    /** An encoded chunk: its digest and object bytes (valid until the same thread encodes again). */
    record Encoded(byte[] digest, ByteBuffer object) {
    }

    ChunkCodec(int chunkSize, int level, Optional<StoreKey> key) {
        this.chunkSize = chunkSize;
        this.level = level;
        this.digestKey = key.map(k -> k.derive("chunk-digest")).orElse(null);
        this.encKey = key.map(k -> new SecretKeySpec(k.derive("chunk-encryption"), "AES")).orElse(null);
        this.scratch = ThreadLocal.withInitial(Scratch::new);
        warmUp();
    }

    private static final java.util.concurrent.atomic.AtomicBoolean WARMED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Once per JVM, hashes a few MB in small pieces on a thread of its own, so that the C2 compiler turns the JDK's
     * SHA-256 into the CPU's SHA instructions before the first chunks arrive. Until C2 compiles
     * {@code DigestBase.implCompressMultiBlock} (after thousands of calls), every chunk is hashed by the
     * interpreted or C1 Java code at a few percent of that speed: JFR of a live backup showed the store's workers
     * spend their first second almost only there ({@code SHA2.implCompress0}, {@code ByteArrayAccess.b2iBig64}),
     * while the compile queue was busy with start-up code. Small pieces reach the call count with little CPU.
     */
    private static void warmUp() {
        if (!WARMED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                ByteBuffer b = ByteBuffer.allocateDirect(WARM_UP_PIECE);
                for (int i = 0; i < WARM_UP_CALLS; i++) {
                    md.update(b.duplicate());
                    md.digest();
                }
            } catch (GeneralSecurityException e) {
                // no SHA-256: the codec's constructor fails on its own
            }
        }, "chunk-store-sha-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    /** The digest of {@code plain} (position to limit, not consumed). */
    byte[] digest(ByteBuffer plain) {
        Scratch s = scratch.get();
        if (s.mac != null) {
            s.mac.update(plain.duplicate());
            return s.mac.doFinal();
        }
        s.sha.update(plain.duplicate());
        return s.sha.digest();
    }

    /** Encodes {@code plain} (position to limit, 1 to chunk size bytes, not consumed). */
    Encoded encode(ByteBuffer plain) {
        int len = plain.remaining();
        if (len == 0 || len > chunkSize) {
            throw new IllegalArgumentException("chunk of " + len + " bytes");
        }
        byte[] digest = digest(plain);
        Scratch s = scratch.get();
        ByteBuffer out = s.object.clear();
        int encoding;
        int payload;
        if (encKey == null) {
            // plain store: zstd writes its frame straight behind the header (no copy of the frame); a chunk that
            // does not shrink is copied in as it is
            int n = compress(plain, out, HEADER, out.capacity() - HEADER, s.probe);
            if (n > 0) {
                encoding = ZSTD;
                payload = n;
            } else {
                encoding = 0;
                payload = len;
                out.put(HEADER, plain, plain.position(), len);
            }
        } else {
            int n = compress(plain, s.packed.clear(), 0, s.packed.capacity(), s.probe);
            ByteBuffer body = n > 0 ? s.packed.clear().limit(n) : plain;
            encoding = n > 0 ? ZSTD : 0;
            payload = body.remaining() + IV + TAG;
            out.position(HEADER);
            encrypt(body, digest, out, s);
        }
        out.putInt(0, MAGIC);
        out.put(4, (byte) (encoding | (encKey != null ? ENCRYPTED : 0))).put(5, (byte) 0).putShort(6, (short) 0);
        out.putInt(8, len).putInt(12, payload);
        return new Encoded(digest, out.position(0).limit(HEADER + payload));
    }

    /**
     * Compresses {@code plain} into {@code dst} from {@code off}, at most {@code room} bytes.
     *
     * @return the frame's length, or 0 when the chunk does not shrink or its sample says it would not (stored raw)
     */
    private int compress(ByteBuffer plain, ByteBuffer dst, int off, int room, CompressibilityProbe probe) {
        if (level == StoreOptions.NO_COMPRESSION) {
            return 0; // (zstd's own level 0 would mean its default, 3)
        }
        ByteBuffer src = plain;
        if (!plain.isDirect()) {
            // heap input (config blobs, tests): zstd-jni wants direct memory for the buffer call
            src = ByteBuffer.allocateDirect(plain.remaining()).put(plain.duplicate()).flip();
        }
        // a reused context: Zstd's static call allocates and initialises a new one (its tables) per chunk
        ZstdCompressCtx z = compressors.poll();
        if (z == null) {
            z = new ZstdCompressCtx().setLevel(level);
        }
        long n;
        try {
            if (!probe.worthCompressing(src, z)) {
                return 0;
            }
            n = z.compressDirectByteBuffer(dst, off, room, src, src.position(), src.remaining());
        } catch (ZstdException e) {
            n = -1;
        } finally {
            compressors.offer(z);
        }
        return n < 0 || n >= plain.remaining() ? 0 : (int) n;
    }

    /** Frees the compression contexts (native memory); encoding afterwards makes new ones. */
    void close() {
        for (ZstdCompressCtx z; (z = compressors.poll()) != null;) {
            z.close();
        }
    }

    private void encrypt(ByteBuffer body, byte[] digest, ByteBuffer out, Scratch s) {
        byte[] iv = new byte[IV];
        random.nextBytes(iv);
        try {
            s.cipher.init(Cipher.ENCRYPT_MODE, encKey, new GCMParameterSpec(TAG * 8, iv));
            s.cipher.updateAAD(digest);
            out.put(iv);
            s.cipher.doFinal(body.duplicate(), out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Decodes a chunk object and checks it against {@code digest}.
     *
     * @return the plaintext
     * @throws CorruptDataException with the reason only (the caller names chunk and place)
     */
    byte[] decode(byte[] digest, ByteBuffer object) throws CorruptDataException {
        ByteBuffer o = object.duplicate();
        if (o.remaining() < HEADER || o.getInt() != MAGIC) {
            throw new CorruptDataException("not a chunk object (bad header)");
        }
        int encoding = o.get() & 0xff;
        o.position(o.position() + 3);
        int plainLen = o.getInt();
        int payload = o.getInt();
        if (plainLen <= 0 || plainLen > chunkSize || payload != o.remaining() || (encoding & ~3) != 0) {
            throw new CorruptDataException("damaged header or truncated (" + object.remaining() + " bytes)");
        }
        if (((encoding & ENCRYPTED) != 0) != (encKey != null)) {
            throw new CorruptDataException(encKey != null ? "stored in the clear in an encrypted store" : "encrypted in a plain store");
        }
        byte[] body;
        int bodyOff;
        int bodyLen = o.remaining();
        if (encKey == null && o.hasArray()) {
            // the backend read the object into a heap array: decompress from it in place, no copy of the payload
            body = o.array();
            bodyOff = o.arrayOffset() + o.position();
        } else {
            body = new byte[bodyLen];
            o.get(body);
            bodyOff = 0;
            if (encKey != null) {
                body = decrypt(body, digest);
                bodyLen = body.length;
            }
        }
        byte[] plain;
        if ((encoding & ZSTD) != 0) {
            plain = new byte[plainLen];
            long n;
            try {
                n = Zstd.decompressByteArray(plain, 0, plainLen, body, bodyOff, bodyLen);
            } catch (RuntimeException e) {
                // zstd-jni throws on damaged frames ("Data corruption detected", "Destination buffer is too small")
                n = -1;
            }
            if (n < 0 || Zstd.isError(n) || n != plainLen) {
                throw new CorruptDataException("damaged (does not decompress to its " + plainLen + " bytes)");
            }
        } else {
            if (bodyLen != plainLen) {
                throw new CorruptDataException("damaged (length " + bodyLen + ", header says " + plainLen + ")");
            }
            plain = bodyOff == 0 && body.length == bodyLen ? body : Arrays.copyOfRange(body, bodyOff, bodyOff + bodyLen);
        }
        if (!MessageDigest.isEqual(digest(ByteBuffer.wrap(plain)), digest)) {
            throw new CorruptDataException("damaged (its content does not match its digest)");
        }
        return plain;
    }

    private byte[] decrypt(byte[] body, byte[] digest) throws CorruptDataException {
        if (body.length < IV + TAG) {
            throw new CorruptDataException("damaged (too short to be encrypted)");
        }
        try {
            Cipher c = scratch.get().cipher;
            c.init(Cipher.DECRYPT_MODE, encKey, new GCMParameterSpec(TAG * 8, body, 0, IV));
            c.updateAAD(digest);
            return c.doFinal(body, IV, body.length - IV);
        } catch (javax.crypto.AEADBadTagException e) {
            throw new CorruptDataException("damaged (authentication failed: altered, or not this chunk)");
        } catch (GeneralSecurityException e) {
            throw new CorruptDataException("cannot be decrypted");
        }
    }
}
