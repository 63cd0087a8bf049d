package org.vmbackup.nbd;

import java.util.Objects;

/**
 * One named export: a backend plus how it is offered.
 *
 * @param name the export name clients ask for (UTF-8, at most 4096 bytes; may be empty: the default export)
 * @param backend the storage
 * @param readOnly whether writes are refused with EPERM regardless of the backend
 * @param tlsRequired whether clients must use STARTTLS before they may see or open this export
 * @param description a human description sent with NBD_INFO_DESCRIPTION and LIST (may be empty)
 */
public record NbdExport(String name, NbdBackend backend, boolean readOnly, boolean tlsRequired,
                        String description) {
    /** Checks the name is a valid NBD string. */
    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(description, "description");
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 4096) {
            throw new IllegalArgumentException("export name longer than 4096 bytes");
        }
        if (backend.size() < 0) {
            throw new IllegalArgumentException("export " + name + ": negative size " + backend.size());
        }
    }

    /** A writable export without TLS requirement or description. */
    public static NbdExport of(String name, NbdBackend backend) {
        return new NbdExport(name, backend, false, false, "");
    }

    /** This export, read-only. */
    public NbdExport asReadOnly() {
        return new NbdExport(name, backend, true, tlsRequired, description);
    }

    /** This export, visible and usable only after STARTTLS. */
    public NbdExport requiringTls() {
        return new NbdExport(name, backend, readOnly, true, description);
    }

    /** This export with a human description. */
    public NbdExport withDescription(String text) {
        return new NbdExport(name, backend, readOnly, tlsRequired, text);
    }
}
