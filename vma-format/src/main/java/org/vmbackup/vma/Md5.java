package org.vmbackup.vma;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** MD5 of a header region with its 16-byte checksum field taken as zeros, the way the reference computes it. */
final class Md5 {
    private static final byte[] ZERO16 = new byte[16];
    private final MessageDigest digest;

    Md5() {
        try {
            digest = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available in this JDK", e);
        }
    }

    /** MD5 over {@code buf[from, to)} (absolute indices) with {@code [md5At, md5At+16)} read as zeros. */
    byte[] sumWithZeroedField(ByteBuffer buf, int from, int to, int md5At) {
        digest.reset();
        digest.update(buf.slice(from, md5At - from));
        digest.update(ZERO16);
        digest.update(buf.slice(md5At + 16, to - md5At - 16));
        return digest.digest();
    }
}
