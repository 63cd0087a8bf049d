package org.vmbackup.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vmabackup vma}: Read, check, extract and create VMA archives (the reference vma tool's verbs). */
@Command(name = "vma", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Read, check, extract and create VMA archives (the reference vma tool's verbs).")
final class VmaCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("vmabackup vma: not yet implemented in this version");
        return ExitCode.NOT_IMPLEMENTED;
    }
}
