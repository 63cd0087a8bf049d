package org.vmbackup.qmp.agent;

import java.util.List;
import java.util.Optional;
import org.vmbackup.qmp.Json;

/**
 * The answer of {@code guest-info}: the agent's version and its commands.
 *
 * @param version the agent's version, e.g. {@code 7.2.22}
 * @param commands every command the agent knows, with whether it is enabled
 */
public record GuestAgentInfo(String version, List<Command> commands) {
    /** Copies the list. */
    public GuestAgentInfo {
        commands = List.copyOf(commands);
    }

    /**
     * One agent command.
     *
     * @param name the command name, e.g. {@code guest-fsfreeze-freeze}
     * @param enabled false when the agent was started with it blocked ({@code -b}) or it is unsupported
     * @param successResponse false for commands that send no reply on success ({@code guest-shutdown})
     */
    public record Command(String name, boolean enabled, boolean successResponse) {
    }

    /** The command named {@code name}, if the agent knows it. */
    public Optional<Command> command(String name) {
        return commands.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** Whether the agent knows {@code name} and has it enabled. */
    public boolean supports(String name) {
        return command(name).map(Command::enabled).orElse(false);
    }

    static GuestAgentInfo decode(Json result) {
        return new GuestAgentInfo(result.require("version").asString(),
                result.require("supported_commands").elements().stream()
                        .map(c -> new Command(c.require("name").asString(), c.require("enabled").asBoolean(),
                                c.opt("success-response").map(Json::asBoolean).orElse(true)))
                        .toList());
    }
}
