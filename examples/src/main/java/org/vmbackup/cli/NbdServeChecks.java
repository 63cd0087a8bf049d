package org.vmbackup.cli;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code nbd serve}'s command line checked before anything is opened or bound: sizes and ports in range (usage
 * errors), files that exist and can be read, a socket path that is free in a directory that exists.
 */
final class NbdServeChecks {
    private NbdServeChecks() {
    }

    static void check(CommandSpec spec, NbdBackendSource source, Path socket, Integer port, Path cert, Path key,
            Path ca) {
        // An export of no bytes is no disk: nbdkit and QEMU accept it, but it is always a mistake here.
        if (source.memory != null) {
            OptionChecks.atLeast(spec, "--memory", source.memory, 1);
        }
        if (source.nullSize != null) {
            OptionChecks.atLeast(spec, "--null", source.nullSize, 1);
        }
        if (port != null) {
            OptionChecks.range(spec, "--port", port, 0, 65535);
        }
        if (source.file != null) {
            InputPaths.readable("image", source.file);
        }
        if (source.archive != null) {
            InputPaths.archiveOrDirectory(source.archive);
        }
        for (Path p : new Path[] {cert, key, ca}) {
            if (p != null) {
                InputPaths.readable(p == cert ? "TLS certificate" : p == key ? "TLS key" : "TLS CA", p);
            }
        }
        if (socket != null) {
            InputPaths.creatable("socket", socket);
        }
    }
}
