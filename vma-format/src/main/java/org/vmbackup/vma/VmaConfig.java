package org.vmbackup.vma;

import java.util.Arrays;
import java.util.Objects;

/**
 * One configuration blob of an archive (e.g. {@code qemu-server.conf}).
 *
 * @param name the stored name (untrusted when read from an archive: sanitise before using it as a file name)
 * @param data the raw content
 */
public record VmaConfig(String name, byte[] data) {
    /** Checks the fields and copies the data. */
    public VmaConfig {
        Objects.requireNonNull(name, "name");
        data = Objects.requireNonNull(data, "data").clone();
    }

    /** A copy of the content. */
    @Override
    public byte[] data() {
        return data.clone();
    }

    /** The content length in bytes. */
    public int size() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VmaConfig c && c.name.equals(name) && Arrays.equals(c.data, data);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "VmaConfig[name=" + name + ", size=" + data.length + "]";
    }
}
