package org.vmbackup.store;

/**
 * Stored data failed its check (digest, checksum, authentication tag, structure): the message names the object
 * (chunk digest, index, manifest) and, for chunk reads, the snapshot, disk and offset. Data that fails a check is
 * never handed to the caller.
 */
public class CorruptDataException extends StoreException {
    private static final long serialVersionUID = 1L;

    /**
     * A damaged object described by {@code message}.
     *
     * @param message one line naming the damaged object and where it was needed
     */
    public CorruptDataException(String message) {
        super(message);
    }
}
