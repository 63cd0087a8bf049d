package org.vmbackup.qmp;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Objects;

/**
 * A JSON number, kept exactly (QMP sizes are uint64; some exceed {@link Long#MAX_VALUE}).
 *
 * @param value the number
 */
public record JsonNumber(BigDecimal value) implements Json {
    /** Rejects null. */
    public JsonNumber {
        Objects.requireNonNull(value, "value");
    }

    /** A number from a long. */
    public static JsonNumber of(long value) {
        return new JsonNumber(BigDecimal.valueOf(value));
    }

    @Override
    public String typeName() {
        return "number";
    }

    @Override
    public long asLong() {
        try {
            return value.longValueExact();
        } catch (ArithmeticException e) {
            throw new QmpProtocolException("expected a 64-bit integer but got " + value.toPlainString());
        }
    }

    /** The value as an exact integer of any size (for uint64 members). */
    public BigInteger asBigInteger() {
        try {
            return value.toBigIntegerExact();
        } catch (ArithmeticException e) {
            throw new QmpProtocolException("expected an integer but got " + value.toPlainString());
        }
    }

    @Override
    public double asDouble() {
        return value.doubleValue();
    }

    @Override
    public String toString() {
        return toJson();
    }
}
