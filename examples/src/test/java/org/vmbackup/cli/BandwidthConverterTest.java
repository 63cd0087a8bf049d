package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class BandwidthConverterTest {
    private final BandwidthConverter c = new BandwidthConverter();

    @ParameterizedTest
    @CsvSource({
        "0, 0",
        "0M, 0",
        "1, 1",
        "1000, 1000",
        "512B, 512",
        "1K, 1024",
        "1k, 1024",
        "40M, 41943040",
        "40m, 41943040",
        "40MiB, 41943040",
        "40mib, 41943040",
        "2G, 2147483648",
        "1T, 1099511627776",
        "1.5M, 1572864",
        "0.5K, 512",
        "1.0001K, 1024",
        "' 8M ', 8388608",
        "9223372036854775807, 9223372036854775807",
        "8388607T, 9223370937343148032",
    })
    void readsRatesWith1024BasedSuffixes(String in, long bytesPerSecond) {
        assertThat(c.convert(in)).isEqualTo(bytesPerSecond);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-1|negative",
        "-0.5M|negative",
        "12X|not a rate",
        "M|not a rate",
        "''|not a rate",
        "1.|not a rate",
        ".5M|not a rate",
        "1e6|not a rate",
        "1,5M|not a rate",
        "4 M|not a rate",
        "0x10|not a rate",
        "10MB|ambiguous",
        "10kb|ambiguous",
        "9223372036854775808|too large",
        "8388608T|too large",
        "99999999999999999999999G|too large",
        "0.5|less than 1 byte",
        "0.0001K|less than 1 byte",
    })
    void refusesBadRatesWithAMessageNamingTheValue(String in, String why) {
        assertThatThrownBy(() -> c.convert(in)).isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessageContaining(why).hasMessageContaining("'" + in + "'");
    }
}
