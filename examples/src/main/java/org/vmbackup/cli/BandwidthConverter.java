package org.vmbackup.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Parses {@code --bwlimit RATE} into bytes per second, the one place that reads a rate: a number with an optional
 * binary suffix, {@code K}, {@code M}, {@code G}, {@code T} (also {@code KiB}...; any case) for 1024, 1024^2...,
 * as QEMU's sizes and rsync's {@code --bwlimit} read them; {@code B} or none for bytes. A fraction is allowed and
 * rounded down to whole bytes ({@code 1.5M} = 1572864). {@code 0} means unlimited. Refused: negative numbers,
 * {@code KB}/{@code MB}... (rsync reads those as powers of 1000: ambiguous), values that round to 0 bytes without
 * being 0, and values above {@link Long#MAX_VALUE}.
 */
final class BandwidthConverter implements CommandLine.ITypeConverter<Long> {
    static final String HELP = "bytes per second with an optional K, M or G suffix (1024-based, as in QEMU and "
            + "rsync), like 40M; fractions round down (1.5M); 0 = unlimited (the default)";

    private static final Pattern RATE = Pattern.compile("(\\d+)(?:\\.(\\d+))?(?:([KMGT])(?:IB)?|B)?");

    @Override
    public Long convert(String value) {
        String v = value.strip().toUpperCase(Locale.ROOT);
        if (v.startsWith("-")) {
            throw new CommandLine.TypeConversionException("'" + value + "' is negative: give bytes per second "
                    + "(e.g. 40M), or 0 for no limit");
        }
        if (v.matches("\\d+(\\.\\d+)?[KMGT]B")) {
            throw new CommandLine.TypeConversionException("'" + value + "' is ambiguous (1000 or 1024?): write "
                    + value.strip().substring(0, value.strip().length() - 1) + " for 1024-based units");
        }
        Matcher m = RATE.matcher(v);
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a rate: give bytes per second with "
                    + "an optional K, M, G or T suffix (1024-based), e.g. 40M");
        }
        BigDecimal n = new BigDecimal(m.group(2) == null ? m.group(1) : m.group(1) + "." + m.group(2));
        int shift = m.group(3) == null ? 0 : 10 * ("KMGT".indexOf(m.group(3)) + 1);
        BigDecimal bytes = n.multiply(BigDecimal.valueOf(2).pow(shift)).setScale(0, RoundingMode.FLOOR);
        if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too large (at most "
                    + Long.MAX_VALUE + " bytes per second)");
        }
        if (bytes.signum() == 0 && n.signum() != 0) {
            throw new CommandLine.TypeConversionException("'" + value + "' is less than 1 byte per second: give at "
                    + "least 1, or 0 for no limit");
        }
        return bytes.longValueExact();
    }
}
