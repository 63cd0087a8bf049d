package org.vmbackup.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The words for failures no command wrapped with its own context: the safety net under every error line. */
class FailureMessagesTest {
    @Test
    void fileSystemFailuresNameThePathAndTheReasonInWords() {
        assertThat(FailureMessages.describe(new NoSuchFileException("/x.vma")))
                .isEqualTo("/x.vma: no such file or directory");
        assertThat(FailureMessages.describe(new AccessDeniedException("/root/a")))
                .isEqualTo("/root/a: permission denied");
        assertThat(FailureMessages.describe(new FileSystemException("/etc/passwd/x", null, "Not a directory")))
                .isEqualTo("/etc/passwd/x: not a directory");
        assertThat(FailureMessages.describe(new FileSystemException("/a", "/b", "Cross-device link")))
                .isEqualTo("/a -> /b: cross-device link");
    }

    @Test
    void wrappersAreLookedThrough() {
        Exception e = new CompletionException(new ExecutionException(new UncheckedIOException(
                new NoSuchFileException("/in"))));
        assertThat(FailureMessages.describe(e)).isEqualTo("/in: no such file or directory");
    }

    @Test
    void classNamesInForeignMessagesAreCutOut() {
        assertThat(FailureMessages.describe(new IOException("io.netty.channel.AbstractChannel$AnnotatedConnect"
                + "Exception: connect(..) failed with error(-111): Connection refused: /s")))
                .isEqualTo("connection refused: /s");
        assertThat(FailureMessages.describe(new IllegalStateException("java.io.FileNotFoundException: /f")))
                .isEqualTo("/f");
        assertThat(FailureMessages.describe(new IllegalStateException("blockdev-add: GenericError: no such node")))
                .as("QEMU's error class stays").isEqualTo("blockdev-add: GenericError: no such node");
        assertThat(FailureMessages.describe(new IllegalStateException("failed: java.lang.OutOfMemoryError: x")))
                .isEqualTo("failed: x");
        assertThat(FailureMessages.describe(new UnknownHostException("nohost.invalid")))
                .isEqualTo("unknown host nohost.invalid");
    }

    @Test
    void aMessagelessFailureStillSaysSomethingAndMultiLineMessagesBecomeOneLine() {
        assertThat(FailureMessages.describe(new NullPointerException()))
                .isEqualTo("unexpected internal error (set VMABACKUP_DEBUG=1 for details)");
        assertThat(FailureMessages.describe(new NullPointerException("Cannot invoke \"java.lang.String.length()\"")))
                .as("a bug's message is about our code").isEqualTo(
                        "unexpected internal error (set VMABACKUP_DEBUG=1 for details)");
        assertThat(FailureMessages.describe(new IllegalStateException("qemu-img: failed\n  Could not open 'x'\n")))
                .isEqualTo("qemu-img: failed; Could not open 'x'");
    }
}
