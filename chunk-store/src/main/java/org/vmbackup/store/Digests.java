package org.vmbackup.store;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Digest helpers: hex, the reserved hole digest, object names of chunks. */
final class Digests {
    /** Marks an all-zero chunk in indexes; never stored. */
    static final byte[] HOLE = new byte[32];
    static final int LENGTH = 32;
    private static final HexFormat HEX = HexFormat.of();

    private Digests() {
    }

    static String hex(byte[] d) {
        return HEX.formatHex(d);
    }

    static byte[] unhex(String s) {
        return HEX.parseHex(s);
    }

    static boolean isHole(byte[] d) {
        return MessageDigest.isEqual(d, HOLE);
    }

    static String chunkName(byte[] d) {
        String h = hex(d);
        return "chunks/" + h.substring(0, 3) + "/" + h;
    }

    static byte[] sha256(byte[] data, int off, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(data, off, len);
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    static byte[] sha256(java.nio.ByteBuffer b) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b.duplicate());
            return md.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
