package org.vmbackup.cli;

import java.util.List;
import picocli.CommandLine;

/**
 * A usage error is one line on stderr, like any other error: the command, what is wrong, and where to read more.
 * (picocli's default prints the whole usage text after the message, which buries the message and breaks scripts
 * that expect one line.)
 */
final class UsageErrorHandler implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        String message = e.getMessage() == null ? "invalid command line" : e.getMessage().strip();
        if (e instanceof CommandLine.UnmatchedArgumentException u) {
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) {
                message += " (did you mean " + String.join(" or ", suggestions) + "?)";
            }
        }
        // picocli names Java types ("'soon' is not a long"): users typed a number, say so in their words
        message = message.replaceAll("is not an? (long|int|integer|double)\\b", "is not a valid whole number")
                .replaceAll("\\s*\\R\\s*", "; ");
        // picocli names an option by its longest alias (--rate-limit); the documented name is the first one
        if (e.getArgSpec() instanceof CommandLine.Model.OptionSpec o && o.names().length > 1) {
            message = message.replace("'" + o.longestName() + "'", "'" + o.names()[0] + "'");
        }
        if (message.startsWith("Invalid value")) {
            message = "i" + message.substring(1);
        }
        cmd.getErr().println(FailureHandler.name(cmd) + ": " + message + " (see '"
                + cmd.getCommandSpec().qualifiedName() + " --help')");
        cmd.getErr().flush();
        return ExitCode.USAGE;
    }
}
