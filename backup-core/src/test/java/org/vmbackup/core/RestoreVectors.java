package org.vmbackup.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.vmbackup.qmp.Json;
import org.vmbackup.qmp.JsonCodec;

/** The shared test vectors (copied into test resources) and their expected device digests. */
final class RestoreVectors {
    /** One expected device of a vector archive. */
    record Device(String name, long size, String sha256) {
    }

    private RestoreVectors() {
    }

    static Path dir() {
        try {
            return Path.of(RestoreVectors.class.getResource("/vectors/expected.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Archive file name to its expected disk devices. */
    static Map<String, List<Device>> expected() {
        try {
            Json root = JsonCodec.parse(Files.readString(dir().resolve("expected.json"), StandardCharsets.UTF_8));
            Map<String, List<Device>> out = new java.util.TreeMap<>();
            for (Map.Entry<String, Json> e : root.members().entrySet()) {
                List<Device> devs = new ArrayList<>();
                for (Json d : e.getValue().require("devices").elements()) {
                    devs.add(new Device(d.require("name").asString(), d.require("size").asLong(),
                            d.require("sha256").asString()));
                }
                out.put(e.getKey(), devs);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
