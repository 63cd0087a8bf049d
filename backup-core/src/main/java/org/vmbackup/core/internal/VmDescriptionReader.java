package org.vmbackup.core.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.vmbackup.core.VmDescription;
import org.vmbackup.qmp.Json;

/** Reads a {@code vm.json} blob ({@link VmDescription#toJson()}) back into a {@link VmDescription}. */
public final class VmDescriptionReader {
    private VmDescriptionReader() {
    }

    /**
     * Reads {@code content}.
     *
     * @throws IllegalArgumentException when it is not a vm.json this library writes
     */
    public static VmDescription read(byte[] content) {
        try {
            Json j = Json.parse(new String(content, StandardCharsets.UTF_8));
            Json q = j.require("qemu");
            List<VmDescription.Disk> disks = new ArrayList<>();
            for (Json d : j.require("disks").elements()) {
                disks.add(new VmDescription.Disk(d.require("name").asString(), text(d, "device"), text(d, "node"),
                        text(d, "qdev"), d.require("size").asLong(), text(d, "format"), text(d, "file")));
            }
            return new VmDescription(text(q, "version"), text(q, "package"), text(j, "machine"),
                    j.require("memory").asLong(), j.opt("vmstate").map(Json::asBoolean).orElse(false), disks,
                    j.opt("guestFrozen").map(Json::asBoolean).orElse(false));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("vm.json cannot be read: " + e.getMessage(), e);
        }
    }

    private static String text(Json j, String name) {
        return j.opt(name).map(Json::asString).orElse("");
    }
}
