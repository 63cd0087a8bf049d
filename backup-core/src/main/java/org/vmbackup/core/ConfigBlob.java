package org.vmbackup.core;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A named configuration file stored in an archive next to the disks (e.g. {@code vm.json} or a Proxmox
 * {@code qemu-server.conf}). The content is copied on the way in and out, so the record stays immutable.
 *
 * @param name the file name inside the archive: a plain file name ({@link org.vmbackup.vma.ArchiveNames})
 * @param content the bytes
 */
public record ConfigBlob(String name, byte[] content) {
    /** Validates the name and copies the content. */
    public ConfigBlob {
        Objects.requireNonNull(name, "name");
        Names.requireSafe(name, "config name");
        content = Objects.requireNonNull(content, "content").clone();
    }

    /** A config blob holding {@code text} as UTF-8. */
    public static ConfigBlob ofText(String name, String text) {
        return new ConfigBlob(name, text.getBytes(StandardCharsets.UTF_8));
    }

    /** A copy of the content. */
    @Override
    public byte[] content() {
        return content.clone();
    }

    /** The content length in bytes. */
    public int size() {
        return content.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfigBlob other && name.equals(other.name) && Arrays.equals(content, other.content);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(content);
    }

    @Override
    public String toString() {
        return "ConfigBlob[" + name + ", " + content.length + " bytes]";
    }
}
