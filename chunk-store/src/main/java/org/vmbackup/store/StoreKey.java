package org.vmbackup.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The secret of an encrypted store: 32 random bytes in a key file (mode 0600), from which the chunk encryption
 * key (AES-256-GCM) and the digest key (HMAC-SHA256) are derived. Losing it loses the store's data.
 */
public final class StoreKey {
    private static final String HEADER = "vmbackup-store-key 1";
    private final byte[] master;

    private StoreKey(byte[] master) {
        this.master = master;
    }

    /**
     * Creates a new random key and writes it to {@code keyFile} (which must not exist), mode 0600.
     *
     * @param keyFile the file to create
     * @return the key
     * @throws IOException when the file exists or cannot be written
     */
    public static StoreKey create(Path keyFile) throws IOException {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        String text = HEADER + "\n" + Base64.getEncoder().encodeToString(k) + "\n";
        Path abs = keyFile.toAbsolutePath();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            throw exists(keyFile);
        }
        // Written and fsynced under a temporary name, then linked to its name (link(2) never replaces a file), and
        // the directory fsynced: a crash leaves no empty key file under the final name, and a key a store was
        // encrypted with is never lost to a power cut after this returns.
        Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + Long.toHexString(new SecureRandom().nextLong()));
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.createLink(abs, tmp);
        } catch (FileAlreadyExistsException e) {
            throw exists(keyFile);
        } finally {
            Files.deleteIfExists(tmp);
        }
        try (FileChannel dir = FileChannel.open(abs.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
        return new StoreKey(k);
    }

    private static StoreException exists(Path keyFile) {
        return new StoreException("key file " + keyFile + " exists already (a key is never overwritten)");
    }

    /**
     * Reads a key file written by {@link #create}.
     *
     * @param keyFile the file
     * @return the key
     * @throws IOException when it is missing, unreadable or not a key file
     */
    public static StoreKey load(Path keyFile) throws IOException {
        String text;
        try {
            text = Files.readString(keyFile, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new StoreException("key file " + keyFile + ": no such file");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new StoreException("key file " + keyFile + ": not a vmbackup store key");
        }
        String[] lines = text.split("\n");
        if (lines.length < 2 || !lines[0].equals(HEADER)) {
            throw new StoreException("key file " + keyFile + ": not a vmbackup store key");
        }
        byte[] k;
        try {
            k = Base64.getDecoder().decode(lines[1].trim());
        } catch (IllegalArgumentException e) {
            k = new byte[0];
        }
        if (k.length != 32) {
            throw new StoreException("key file " + keyFile + ": damaged (the key is not 32 bytes)");
        }
        return new StoreKey(k);
    }

    /** The 32-byte sub-key for {@code purpose}: HMAC-SHA256(master, purpose). */
    byte[] derive(String purpose) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(master, "HmacSHA256"));
            return mac.doFinal(purpose.getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK lacks HmacSHA256", e);
        }
    }

    /** Keys are equal when their secrets are. */
    @Override
    public boolean equals(Object o) {
        return o instanceof StoreKey k && java.security.MessageDigest.isEqual(master, k.master);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(derive("hash-code"));
    }

    /** @return a fixed text that never shows the secret */
    @Override
    public String toString() {
        return "StoreKey[secret]";
    }
}
