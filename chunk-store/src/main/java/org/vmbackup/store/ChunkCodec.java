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
 * zstd when it shrinks, AES-256-GCM when the store is encrypted. Thread-safe: per-thread scratch buffers, so
 * the memory is bounded by the number of threads encoding.
 */
final class ChunkCodec {
    static final int HEADER = 16;
    private static final int MAGIC = 0x5642434b; // "VBCK"
    private static final int IV = 12;
    private static final int TAG = 16;
    private static final int ZSTD = 1;
    private static final int ENCRYPTED = 2;

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
        final ByteBuffer packed = ByteBuffer.allocateDirect(Math.toIntExact(Zstd.compressBound(chunkSize)));
        final ByteBuffer object = ByteBuffer.allocateDirect(HEADER + IV + Math.toIntExact(Zstd.compressBound(chunkSize)) + TAG);
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

    /** An encoded chunk: its digest and object bytes (valid until the same thread encodes again). */
    record Encoded(byte[] digest, ByteBuffer object) {
    }

    ChunkCodec(int chunkSize, int level, Optional<StoreKey> key) {
        this.chunkSize = chunkSize;
        this.level = level;
        this.digestKey = key.map(k -> k.derive("chunk-digest")).orElse(null);
        this.encKey = key.map(k -> new SecretKeySpec(k.derive("chunk-encryption"), "AES")).orElse(null);
        this.scratch = ThreadLocal.withInitial(Scratch::new);
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
        ByteBuffer body = compress(plain, s);
        int encoding = body == plain ? 0 : ZSTD;
        ByteBuffer out = s.object.clear();
        out.putInt(MAGIC);
        int payload = body.remaining() + (encKey != null ? IV + TAG : 0);
        out.put((byte) (encoding | (encKey != null ? ENCRYPTED : 0))).put((byte) 0).putShort((short) 0);
        out.putInt(len).putInt(payload);
        if (encKey != null) {
            encrypt(body, digest, out, s);
        } else {
            out.put(body.duplicate());
        }
        return new Encoded(digest, out.flip());
    }

    private ByteBuffer compress(ByteBuffer plain, Scratch s) {
        ByteBuffer src = plain;
        if (!plain.isDirect()) {
            // heap input (config blobs, tests): zstd-jni wants direct memory for the buffer call
            src = ByteBuffer.allocateDirect(plain.remaining()).put(plain.duplicate()).flip();
        }
        ByteBuffer dst = s.packed.clear();
        // a reused context: Zstd's static call allocates and initialises a new one (its tables) per chunk
        ZstdCompressCtx z = compressors.poll();
        if (z == null) {
            z = new ZstdCompressCtx().setLevel(level);
        }
        long n;
        try {
            n = z.compressDirectByteBuffer(dst, 0, dst.capacity(), src, src.position(), src.remaining());
        } catch (ZstdException e) {
            n = -1;
        } finally {
            compressors.offer(z);
        }
        if (n < 0 || n >= plain.remaining()) {
            return plain;
        }
        return dst.limit((int) n);
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
