package org.vmbackup.vma;

import static org.vmbackup.vma.VmaConstants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Encodes and decodes the archive header (fixed 12 KiB struct plus blob area) exactly like the reference. */
final class HeaderCodec {
    private HeaderCodec() {
    }

    /** A blob table in the reference writer's layout: first byte unused, LE16 lengths, 512-byte growth. */
    private static final class BlobTable {
        private final List<byte[]> blobs = new ArrayList<>();
        private int position = 1;
        private int allocated;

        int add(byte[] data) {
            if (data.length > MAX_BLOB_LENGTH) {
                throw new VmaFormatException("blob of " + data.length + " bytes exceeds the 65535-byte limit");
            }
            int need = data.length + 2;
            if (position + need > allocated) {
                allocated += (need + 511) & ~511;
            }
            int at = position;
            blobs.add(data);
            position += need;
            return at;
        }
    }

    /** The header bytes for these configs and devices (devices in dev_id order 1..n). */
    static ByteBuffer encode(UUID uuid, Instant ctime, List<VmaConfig> configs, List<VmaDevice> devices) {
        if (configs.size() > MAX_CONFIGS) {
            throw new VmaFormatException("too many configs: " + configs.size() + " (at most 256)");
        }
        if (devices.size() > MAX_DEVICES) {
            throw new VmaFormatException("too many devices: " + devices.size() + " (at most 254)");
        }
        BlobTable table = new BlobTable();
        int[] nameAt = new int[configs.size()];
        int[] dataAt = new int[configs.size()];
        for (int i = 0; i < configs.size(); i++) {
            nameAt[i] = table.add(cString(configs.get(i).name()));
            dataAt[i] = table.add(configs.get(i).data());
        }
        int[] devNameAt = new int[devices.size()];
        for (int i = 0; i < devices.size(); i++) {
            devNameAt[i] = table.add(cString(devices.get(i).name()));
        }
        // An archive with neither configs nor devices would get header_size 12288, which readers reject.
        int allocated = Math.max(table.allocated, 512);
        if (allocated > MAX_WRITTEN_BLOB_AREA) {
            throw new VmaFormatException("configs and names need " + allocated
                    + " header bytes, more than the reference limit of " + MAX_WRITTEN_BLOB_AREA);
        }
        int headerSize = FIXED_HEADER_SIZE + allocated;
        ByteBuffer b = ByteBuffer.allocate(headerSize).order(ByteOrder.BIG_ENDIAN);
        b.putInt(0, HEADER_MAGIC);
        b.putInt(OFF_VERSION, VERSION);
        b.putLong(OFF_UUID, uuid.getMostSignificantBits());
        b.putLong(OFF_UUID + 8, uuid.getLeastSignificantBits());
        b.putLong(OFF_CTIME, ctime.getEpochSecond());
        b.putInt(OFF_BLOB_OFFSET, FIXED_HEADER_SIZE);
        b.putInt(OFF_BLOB_SIZE, table.position);
        b.putInt(OFF_HEADER_SIZE, headerSize);
        for (int i = 0; i < configs.size(); i++) {
            b.putInt(OFF_CONFIG_NAMES + 4 * i, nameAt[i]);
            b.putInt(OFF_CONFIG_DATA + 4 * i, dataAt[i]);
        }
        for (int i = 0; i < devices.size(); i++) {
            VmaDevice d = devices.get(i);
            if (d.id() != i + 1) {
                throw new VmaFormatException("device " + d.name() + " has dev_id " + d.id() + ", expected " + (i + 1));
            }
            int at = OFF_DEV_INFO + DEV_INFO_SIZE * d.id();
            b.putInt(at, devNameAt[i]);
            b.putLong(at + 8, d.size());
        }
        int pos = FIXED_HEADER_SIZE + 1;
        for (byte[] blob : table.blobs) {
            b.put(pos, (byte) blob.length);
            b.put(pos + 1, (byte) (blob.length >>> 8));
            b.put(pos + 2, blob);
            pos += blob.length + 2;
        }
        b.put(OFF_MD5, new Md5().sumWithZeroedField(b, 0, headerSize, OFF_MD5));
        return b;
    }

    private static byte[] cString(String s) {
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        boolean hasNul = false;
        for (byte x : raw) {
            hasNul |= x == 0;
        }
        if (raw.length == 0 || hasNul) {
            throw new VmaFormatException("name must be non-empty and contain no NUL byte: '" + s + "'");
        }
        return Arrays.copyOf(raw, raw.length + 1);
    }

    /** Reads and checks the header from the start of the stream, in the reference reader's order. */
    static VmaHeader read(ChannelInput in) {
        ByteBuffer fixed = ByteBuffer.allocate(FIXED_HEADER_SIZE);
        int n = in.readFully(fixed);
        if (n < 4 || fixed.getInt(0) != HEADER_MAGIC) {
            throw new VmaFormatException("offset 0: not a VMA archive (bad magic)");
        }
        if (n < FIXED_HEADER_SIZE) {
            throw new VmaFormatException("offset " + n + ": archive truncated inside the 12288-byte header");
        }
        long headerSize = Integer.toUnsignedLong(fixed.getInt(OFF_HEADER_SIZE));
        if (headerSize <= FIXED_HEADER_SIZE || headerSize > MAX_READ_HEADER_SIZE) {
            throw new VmaFormatException("offset " + OFF_HEADER_SIZE + ": header_size " + headerSize
                    + " out of range (12288, " + MAX_READ_HEADER_SIZE + "]");
        }
        // header_size is only a claim until the bytes are there: the buffer grows (doubling) with what arrives, so
        // a short input declaring the largest header costs about what it holds, not 64 MiB.
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(headerSize, 2L * FIXED_HEADER_SIZE));
        b.put(fixed.flip());
        while (true) {
            in.readFully(b);
            if (b.hasRemaining()) {
                throw new VmaFormatException("offset " + b.position() + ": archive truncated inside the "
                        + headerSize + "-byte header");
            }
            if (b.capacity() == headerSize) {
                break;
            }
            ByteBuffer bigger = ByteBuffer.allocate((int) Math.min(headerSize, 2L * b.capacity()));
            b = bigger.put(b.flip());
        }
        byte[] md5 = new Md5().sumWithZeroedField(b, 0, (int) headerSize, OFF_MD5);
        byte[] stored = new byte[16];
        b.get(OFF_MD5, stored);
        if (!Arrays.equals(md5, stored)) {
            throw new VmaFormatException("offset " + OFF_MD5 + ": header MD5 checksum mismatch");
        }
        int version = b.getInt(OFF_VERSION);
        if (version != VERSION) {
            throw new VmaFormatException("offset " + OFF_VERSION + ": unsupported VMA version " + version);
        }
        long blobOffset = Integer.toUnsignedLong(b.getInt(OFF_BLOB_OFFSET));
        long blobSize = Integer.toUnsignedLong(b.getInt(OFF_BLOB_SIZE));
        if (blobOffset < FIXED_HEADER_SIZE || blobOffset + blobSize > headerSize) {
            throw new VmaFormatException("offset " + OFF_BLOB_OFFSET + ": blob area [" + blobOffset + ", +"
                    + blobSize + ") outside the header (size " + headerSize + ")");
        }
        Map<Integer, byte[]> blobs = parseBlobs(b, (int) blobOffset, (int) blobSize);
        UUID uuid = new UUID(b.getLong(OFF_UUID), b.getLong(OFF_UUID + 8));
        Instant ctime = Instant.ofEpochSecond(b.getLong(OFF_CTIME));
        List<VmaConfig> configs = new ArrayList<>();
        for (int i = 0; i < MAX_CONFIGS; i++) {
            int namePtr = b.getInt(OFF_CONFIG_NAMES + 4 * i);
            int dataPtr = b.getInt(OFF_CONFIG_DATA + 4 * i);
            if (namePtr == 0 || dataPtr == 0) {
                continue;
            }
            byte[] name = blobs.get(namePtr);
            byte[] data = blobs.get(dataPtr);
            String s = name == null ? null : fromCString(name);
            if (s == null || data == null) {
                throw new VmaFormatException("offset " + (OFF_CONFIG_NAMES + 4 * i) + ": config slot " + i
                        + " has invalid data pointers");
            }
            configs.add(new VmaConfig(s, data));
        }
        List<VmaDevice> devices = new ArrayList<>();
        for (int id = 1; id <= MAX_DEV_ID_READ; id++) {
            int at = OFF_DEV_INFO + DEV_INFO_SIZE * id;
            long size = b.getLong(at + 8);
            byte[] name = blobs.get(b.getInt(at));
            String s = name == null ? null : fromCString(name);
            if (size == 0 || s == null) {
                continue; // the reference reader silently ignores such entries
            }
            if (size < 0 || ((size - 1) >>> CLUSTER_SHIFT) >= MAX_CLUSTERS) {
                throw new VmaFormatException("offset " + (at + 8) + ": device " + s + " has invalid size " + size);
            }
            devices.add(new VmaDevice(id, s, size));
        }
        return new VmaHeader(uuid, ctime, configs, devices, headerSize);
    }

    private static Map<Integer, byte[]> parseBlobs(ByteBuffer b, int blobOffset, int blobSize) {
        Map<Integer, byte[]> blobs = new HashMap<>();
        int rel = 1;
        while (rel + 2 <= blobSize) {
            int len = (b.get(blobOffset + rel) & 0xFF) | (b.get(blobOffset + rel + 1) & 0xFF) << 8;
            if (rel + 2 + len > blobSize) {
                break;
            }
            byte[] data = new byte[len];
            b.get(blobOffset + rel + 2, data);
            blobs.put(rel, data);
            rel += 2 + len;
        }
        return blobs;
    }

    /** The string of a NUL-terminated blob, or null if the last byte is not NUL. */
    private static String fromCString(byte[] blob) {
        if (blob.length == 0 || blob[blob.length - 1] != 0) {
            return null;
        }
        int end = 0;
        while (blob[end] != 0) {
            end++;
        }
        if (end == 0) {
            return null;
        }
        return new String(blob, 0, end, StandardCharsets.UTF_8);
    }
}
