package org.vmbackup.qmp;

/** The JSON {@code null}. Use {@link #INSTANCE}. */
public record JsonNull() implements Json {
    /** The only instance needed. */
    public static final JsonNull INSTANCE = new JsonNull();

    @Override
    public String typeName() {
        return "null";
    }

    @Override
    public boolean isNull() {
        return true;
    }

    @Override
    public String toString() {
        return "null";
    }
}
