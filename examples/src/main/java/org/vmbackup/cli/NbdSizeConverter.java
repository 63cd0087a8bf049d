package org.vmbackup.cli;

import java.util.Locale;
import picocli.CommandLine;

/** Parses sizes like {@code 4096}, {@code 512M}, {@code 1G}, {@code 2GiB} (binary units: K = 1024). */
final class NbdSizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String v = value.strip().toUpperCase(Locale.ROOT);
        if (v.endsWith("IB")) {
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("B")) {
            v = v.substring(0, v.length() - 1);
        }
        int shift = 0;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                v = v.substring(0, v.length() - 1);
            } else {
                shift = 0;
            }
        }
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException e) {
            if (v.matches("-?[0-9]+")) { // a number, only too long for 64 bits
                throw new CommandLine.TypeConversionException("size out of range: '" + value + "'");
            }
            throw new CommandLine.TypeConversionException("not a size: '" + value + "' (use e.g. 512M, 1G)");
        }
        if (n < 0 || (shift > 0 && n > (Long.MAX_VALUE >> shift))) {
            throw new CommandLine.TypeConversionException("size out of range: '" + value + "'");
        }
        return n << shift;
    }
}
