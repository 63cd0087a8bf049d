package org.vmbackup.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.vmbackup.vma.VmaFormatException;
import org.vmbackup.vma.VmaReader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code vmabackup vma}: Read, check, extract and create VMA archives (the reference vma tool's verbs). */
@Command(name = "vma", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Read, check, extract and create VMA archives (the reference vma tool's verbs).",
        subcommands = {VmaListCommand.class, VmaConfigCommand.class, VmaVerifyCommand.class, VmaExtractCommand.class,
            VmaCreateCommand.class})
final class VmaCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (list, config, verify, "
                + "extract, create)");
    }

    /**
     * Opens an archive file, or stdin for {@code -}; compression is recognised by magic bytes. Whatever fails here
     * (missing file, not an archive, header cut short) is reported as "cannot read archive X: why".
     */
    static VmaReader openReader(String archive) throws IOException {
        if ("-".equals(archive)) {
            try {
                return VmaReader.open(System.in);
            } catch (IOException | VmaFormatException e) {
                throw new CliFailure("cannot read archive on stdin: " + why(e), e);
            }
        }
        Path path = Path.of(archive);
        InputPaths.archive(path);
        try {
            return VmaReader.open(path);
        } catch (IOException | VmaFormatException e) {
            throw new CliFailure("cannot read archive " + archive + ": " + why(e), e);
        }
    }

    private static String why(Exception e) {
        return e instanceof VmaFormatException ? e.getMessage() : FailureMessages.reason(e);
    }
}
