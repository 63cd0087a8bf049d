package org.vmbackup.nbd;

/** How a backend honours Forced Unit Access (NBD_CMD_FLAG_FUA) on writes. */
public enum FuaLevel {
    /** FUA is not offered to clients. */
    NONE,
    /** The server emulates FUA by calling {@link NbdBackend#flush()} after the write completes. */
    EMULATE,
    /** The backend receives {@code fua=true} and makes the data durable itself before completing. */
    NATIVE
}
