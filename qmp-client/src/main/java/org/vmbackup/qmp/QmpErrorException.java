package org.vmbackup.qmp;

/**
 * QEMU refused a command: the reply was {@code {"error": {"class": ..., "desc": ...}}}.
 * The message reads {@code "CLASS: desc (command NAME)"}.
 */
public class QmpErrorException extends QmpException {
    private static final long serialVersionUID = 1L;

    private final QmpErrorClass errorClass;
    private final String rawErrorClass;
    private final String description;
    private final String command;

    /**
     * An error reply.
     *
     * @param rawErrorClass the class string QEMU sent
     * @param description QEMU's human-readable description
     * @param command the command that failed ({@code null} if QEMU did not say which)
     */
    public QmpErrorException(String rawErrorClass, String description, String command) {
        super(rawErrorClass + ": " + description + (command == null ? "" : " (command " + command + ")"));
        this.rawErrorClass = rawErrorClass;
        this.errorClass = QmpErrorClass.fromWire(rawErrorClass);
        this.description = description;
        this.command = command;
    }

    /** The error class, {@link QmpErrorClass#UNKNOWN} for classes this client does not know. */
    public QmpErrorClass errorClass() {
        return errorClass;
    }

    /** The class string exactly as QEMU sent it. */
    public String rawErrorClass() {
        return rawErrorClass;
    }

    /** QEMU's description (for humans; QMP says clients must not parse it). */
    public String description() {
        return description;
    }

    /** The name of the command that failed, or {@code null} when unknown. */
    public String command() {
        return command;
    }
}
