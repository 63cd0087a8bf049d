package org.vmbackup.cli;

import java.math.BigDecimal;
import java.time.Duration;
import picocli.CommandLine;

/**
 * Parses a time limit in seconds, fractions allowed ({@code 10}, {@code 2.5}), above 0 and at most
 * {@value #MAX_SECONDS}: no guest or user waits longer for anything the CLI bounds, and a typo such as an extra
 * zero should be an error rather than a limit nobody meant.
 */
final class SecondsConverter implements CommandLine.ITypeConverter<Duration> {
    static final int MAX_SECONDS = 600;

    @Override
    public Duration convert(String value) {
        BigDecimal s;
        try {
            s = new BigDecimal(value.strip());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("not a number of seconds: '" + value
                    + "' (use e.g. 10 or 2.5)");
        }
        if (s.signum() <= 0 || s.compareTo(BigDecimal.valueOf(MAX_SECONDS)) > 0) {
            throw new CommandLine.TypeConversionException("seconds out of range: '" + value + "' (above 0, at most "
                    + MAX_SECONDS + ")");
        }
        Duration d = Duration.ofNanos(s.movePointRight(9).longValue());
        if (d.toMillis() < 1) {
            throw new CommandLine.TypeConversionException("seconds out of range: '" + value
                    + "' (at least 0.001)");
        }
        return d;
    }
}
