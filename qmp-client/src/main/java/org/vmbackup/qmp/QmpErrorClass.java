package org.vmbackup.qmp;

/**
 * The error classes of QEMU's {@code QapiErrorClass}. Classes this enum does not know map to {@link #UNKNOWN};
 * {@link QmpErrorException#rawErrorClass()} keeps the wire string either way. The constants are spelled as on
 * the wire, so {@code name()} is the class QEMU sends.
 */
public enum QmpErrorClass {
    /** Most errors: the description says what went wrong. */
    GenericError("GenericError"),
    /** The command does not exist (or capabilities were not negotiated yet). */
    CommandNotFound("CommandNotFound"),
    /** The device exists but is not active (e.g. no balloon driver). */
    DeviceNotActive("DeviceNotActive"),
    /** The named device or node does not exist. */
    DeviceNotFound("DeviceNotFound"),
    /** KVM lacks a required capability. */
    KVMMissingCap("KVMMissingCap"),
    /** A class added after this client was written; see the raw class string. */
    UNKNOWN("");

    private final String wireName;

    QmpErrorClass(String wireName) {
        this.wireName = wireName;
    }

    /** The name QEMU sends ({@code ""} for {@link #UNKNOWN}). */
    public String wireName() {
        return wireName;
    }

    /** The enum constant for a wire name; {@link #UNKNOWN} when it is not one of the known classes. */
    public static QmpErrorClass fromWire(String name) {
        for (QmpErrorClass c : values()) {
            if (c != UNKNOWN && c.wireName.equals(name)) {
                return c;
            }
        }
        return UNKNOWN;
    }
}
