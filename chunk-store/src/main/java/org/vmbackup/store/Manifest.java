package org.vmbackup.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A snapshot's manifest (FORMAT.md, "Manifest"): JSON, a newline, and its checksum (keyed when the store is
 * encrypted, so that nobody without the key can alter it unnoticed).
 */
record Manifest(SnapshotId id, Optional<SnapshotId> parent, Instant created, List<DiskEntry> disks,
        Optional<StreamEntry> vmstate, List<StreamEntry> configs, long bytesNew) {
    static final String NAME = "manifest";

    /** One disk and its index object (relative to the snapshot's directory) with that object's SHA-256. */
    record DiskEntry(String name, long size, int chunkSize, boolean incremental, long bytesNew, String index,
            String indexSha256) {
    }

    /** One stream (VM state or config blob) and its index. */
    record StreamEntry(String name, long size, String index, String indexSha256) {
    }

    static String dir(SnapshotId id) {
        return "snapshots/" + id.vm() + "/" + id.instantText() + "/";
    }

    static String objectName(SnapshotId id) {
        return dir(id) + NAME;
    }

    SnapshotInfo info() {
        List<DiskInfo> d = new ArrayList<>();
        for (DiskEntry e : disks) {
            d.add(new DiskInfo(e.name(), e.size(), e.chunkSize(), e.incremental(), e.bytesNew()));
        }
        Map<String, Long> c = new LinkedHashMap<>();
        configs.forEach(s -> c.put(s.name(), s.size()));
        return new SnapshotInfo(id, d, vmstate.map(v -> OptionalLong.of(v.size())).orElse(OptionalLong.empty()), c,
                parent, bytesNew);
    }

    byte[] encode(byte[] macKey) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", (long) StoreConfig.FORMAT);
        m.put("id", id.toString());
        m.put("parent", parent.map(SnapshotId::toString).orElse(null));
        m.put("created", created.toString());
        List<Object> ds = new ArrayList<>();
        for (DiskEntry e : disks) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("name", e.name());
            x.put("size", e.size());
            x.put("chunkSize", (long) e.chunkSize());
            x.put("incremental", e.incremental());
            x.put("bytesNew", e.bytesNew());
            x.put("index", e.index());
            x.put("indexSha256", e.indexSha256());
            ds.add(x);
        }
        m.put("disks", ds);
        m.put("vmstate", vmstate.map(Manifest::stream).orElse(null));
        List<Object> cs = new ArrayList<>();
        configs.forEach(s -> cs.add(stream(s)));
        m.put("configs", cs);
        m.put("bytesNew", bytesNew);
        byte[] json = Json.write(m);
        byte[] trailer = ("\n" + checksum(json, macKey)).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[json.length + trailer.length];
        System.arraycopy(json, 0, out, 0, json.length);
        System.arraycopy(trailer, 0, out, json.length, trailer.length);
        return out;
    }

    private static Map<String, Object> stream(StreamEntry s) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("name", s.name());
        x.put("size", s.size());
        x.put("index", s.index());
        x.put("indexSha256", s.indexSha256());
        return x;
    }

    private static String checksum(byte[] json, byte[] macKey) {
        if (macKey == null) {
            return "sha256:" + Digests.hex(Digests.sha256(json, 0, json.length));
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(macKey, "HmacSHA256"));
            return "hmac:" + Digests.hex(mac.doFinal(json));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes and checks the manifest of {@code expected}. */
    static Manifest decode(byte[] data, SnapshotId expected, byte[] macKey) throws StoreException {
        String what = "snapshot " + expected + ": manifest";
        int nl = -1;
        for (int i = data.length - 1; i >= 0; i--) {
            if (data[i] == '\n') {
                nl = i;
                break;
            }
        }
        if (nl < 0) {
            throw new CorruptDataException(what + " is damaged (no checksum line)");
        }
        byte[] json = java.util.Arrays.copyOf(data, nl);
        String sum = new String(data, nl + 1, data.length - nl - 1, StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(sum.getBytes(StandardCharsets.US_ASCII),
                checksum(json, macKey).getBytes(StandardCharsets.US_ASCII))) {
            throw new CorruptDataException(what + " is damaged (checksum mismatch)");
        }
        Map<String, Object> m = Json.read(json, what);
        long format = Json.number(m, "format", what);
        if (format > StoreConfig.FORMAT) {
            throw new StoreException(what + ": format version " + format + " is newer than this program's " + StoreConfig.FORMAT);
        }
        try {
            SnapshotId id = SnapshotId.parse(Json.string(m, "id", what));
            if (!id.equals(expected)) {
                throw new CorruptDataException(what + " names another snapshot, " + id);
            }
            Optional<SnapshotId> parent = m.get("parent") == null ? Optional.empty()
                    : Optional.of(SnapshotId.parse(Json.string(m, "parent", what)));
            List<DiskEntry> disks = new ArrayList<>();
            for (Map<String, Object> d : Json.objects(m, "disks", what)) {
                disks.add(new DiskEntry(Json.string(d, "name", what), Json.number(d, "size", what),
                        (int) Json.number(d, "chunkSize", what), Json.bool(d, "incremental", what),
                        Json.number(d, "bytesNew", what), Json.string(d, "index", what), Json.string(d, "indexSha256", what)));
            }
            Optional<StreamEntry> vm = Optional.empty();
            if (m.get("vmstate") instanceof Map<?, ?>) {
                @SuppressWarnings("unchecked")
                Map<String, Object> v = (Map<String, Object>) m.get("vmstate");
                vm = Optional.of(streamEntry(v, what));
            }
            List<StreamEntry> configs = new ArrayList<>();
            for (Map<String, Object> c : Json.objects(m, "configs", what)) {
                configs.add(streamEntry(c, what));
            }
            return new Manifest(id, parent, Instant.parse(Json.string(m, "created", what)), disks, vm, configs,
                    Json.number(m, "bytesNew", what));
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            throw new CorruptDataException(what + " is damaged (" + e.getMessage() + ")");
        }
    }

    private static StreamEntry streamEntry(Map<String, Object> v, String what) throws CorruptDataException {
        return new StreamEntry(Json.string(v, "name", what), Json.number(v, "size", what), Json.string(v, "index", what),
                Json.string(v, "indexSha256", what));
    }
}
