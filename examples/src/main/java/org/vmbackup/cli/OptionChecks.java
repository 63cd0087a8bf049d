package org.vmbackup.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** Range checks for numeric options: a value out of range is a usage error naming the option and the range. */
final class OptionChecks {
    /** The longest wait or timeout in seconds: a day (longer is a typo, and would overflow deadlines). */
    static final long DAY_SECONDS = 86_400;

    private OptionChecks() {
    }

    /** Fails unless {@code min <= value <= max}. */
    static void range(CommandSpec spec, String option, long value, long min, long max) {
        if (value < min || value > max) {
            String range = max == Long.MAX_VALUE ? "at least " + min : min + " to " + max;
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "invalid value for option '" + option + "': " + value + " (must be " + range + ")");
        }
    }

    /** Fails unless {@code value >= min}. */
    static void atLeast(CommandSpec spec, String option, long value, long min) {
        range(spec, option, value, min, Long.MAX_VALUE);
    }
}
