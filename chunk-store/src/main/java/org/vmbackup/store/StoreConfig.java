package org.vmbackup.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The store's {@code config} object (FORMAT.md): its parameters, and the key check that tells a wrong key apart
 * before anything is read or written.
 */
record StoreConfig(int format, String storeId, int chunkSize, int compressionLevel, boolean encrypted,
        String keyCheck) {
    static final int FORMAT = 1;
    static final String NAME = "config";

    static StoreConfig create(StoreOptions o) {
        String id = UUID.randomUUID().toString();
        return new StoreConfig(FORMAT, id, o.chunkSize(), o.compressionLevel(), o.key().isPresent(),
                o.key().map(k -> keyCheck(k, id)).orElse(""));
    }

    static String keyCheck(StoreKey key, String storeId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.derive("key-check"), "HmacSHA256"));
            return Digests.hex(mac.doFinal(storeId.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    byte[] toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", (long) format);
        m.put("storeId", storeId);
        m.put("chunkSize", (long) chunkSize);
        if (compressionLevel == StoreOptions.NO_COMPRESSION) {
            m.put("compression", "none");
        } else {
            m.put("compression", "zstd");
            m.put("compressionLevel", (long) compressionLevel);
        }
        m.put("digest", encrypted ? "hmac-sha256" : "sha256");
        m.put("encryption", encrypted ? "aes-256-gcm" : "none");
        if (encrypted) {
            m.put("keyCheck", keyCheck);
        }
        return Json.write(m);
    }

    /** Parses and checks the config of store {@code where}. */
    static StoreConfig parse(byte[] data, String where) throws StoreException {
        String what = "store " + where + ": config";
        Map<String, Object> m = Json.read(data, what);
        long format = Json.number(m, "format", what);
        if (format > FORMAT) {
            throw new StoreException("store " + where + ": format version " + format + " is newer than this program's "
                    + FORMAT + " (upgrade vmbackup to use it)");
        }
        if (format < 1) {
            throw new CorruptDataException(what + ": format version " + format + " is not valid");
        }
        long chunk = Json.number(m, "chunkSize", what);
        if (chunk < StoreOptions.MIN_CHUNK_SIZE || chunk > StoreOptions.MAX_CHUNK_SIZE || Long.bitCount(chunk) != 1) {
            throw new CorruptDataException(what + ": chunk size " + chunk + " is not valid");
        }
        String enc = Json.string(m, "encryption", what);
        boolean encrypted = switch (enc) {
            case "none" -> false;
            case "aes-256-gcm" -> true;
            default -> throw new StoreException(what + ": unknown encryption '" + enc + "'");
        };
        String compression = Json.string(m, "compression", what);
        long level = switch (compression) {
            case "none" -> StoreOptions.NO_COMPRESSION;
            case "zstd" -> Math.max(1, Math.min(19, Json.number(m, "compressionLevel", what)));
            default -> throw new StoreException(what + ": unknown compression '" + compression + "'");
        };
        String digest = Json.string(m, "digest", what);
        if (!digest.equals(encrypted ? "hmac-sha256" : "sha256")) {
            throw new StoreException(what + ": digest '" + digest + "' does not match encryption '" + enc + "'");
        }
        return new StoreConfig((int) format, Json.string(m, "storeId", what), (int) chunk,
                (int) level, encrypted, encrypted ? Json.string(m, "keyCheck", what) : "");
    }

    /** Checks that {@code key} fits this store (none for a plain store, the right one for an encrypted one). */
    void checkKey(Optional<StoreKey> key, String where) throws StoreException {
        if (encrypted && key.isEmpty()) {
            throw new StoreException("store " + where + " is encrypted: give its key file (--key FILE)");
        }
        if (!encrypted && key.isPresent()) {
            throw new StoreException("store " + where + " is not encrypted, but a key was given");
        }
        if (encrypted && !MessageDigest.isEqual(keyCheck(key.get(), storeId).getBytes(StandardCharsets.US_ASCII),
                keyCheck.getBytes(StandardCharsets.US_ASCII))) {
            throw new StoreException("store " + where + ": wrong key (the key file is not this store's key)");
        }
    }
}
