package org.vmbackup.vma;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * The decoded archive header.
 *
 * @param uuid the archive uuid, repeated in every extent
 * @param ctime the creation time (seconds resolution)
 * @param configs the configuration blobs in slot order
 * @param devices the devices in dev_id order
 * @param headerSize the header length in bytes; the first extent starts there
 */
public record VmaHeader(UUID uuid, Instant ctime, List<VmaConfig> configs, List<VmaDevice> devices,
        long headerSize) {
    /** Checks the fields and copies the lists. */
    public VmaHeader {
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(ctime, "ctime");
        configs = List.copyOf(configs);
        devices = List.copyOf(devices);
    }

    /** The device with this dev_id, if any. */
    public Optional<VmaDevice> device(int devId) {
        return devices.stream().filter(d -> d.id() == devId).findFirst();
    }

    /** The device with this name, if any. */
    public Optional<VmaDevice> device(String name) {
        return devices.stream().filter(d -> d.name().equals(name)).findFirst();
    }

    /** The first config with this name, if any. */
    public Optional<VmaConfig> config(String name) {
        return configs.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
