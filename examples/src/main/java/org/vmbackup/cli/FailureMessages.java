package org.vmbackup.cli;

import java.io.EOFException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;

/**
 * Turns any failure into one line of words for stderr: what and where, never a Java class name (users cannot act on
 * {@code java.nio.file.NoSuchFileException}, they can on "no such file"). Exceptions that carry a path get it in
 * front; wrappers (futures, unchecked I/O) are looked through; class names inside foreign messages are cut out.
 */
final class FailureMessages {
    /**
     * An exception class name with its colon, as {@code Throwable.toString()} writes it: qualified (ending in
     * Exception or Error) or simple (ending in Exception; a bare "GenericError" is QEMU's error class, kept).
     */
    private static final Pattern CLASS_NAME = Pattern.compile("(?:\\b[a-z][\\w$]*\\.)+[A-Z][\\w$]*(?:Exception|Error)"
            + "\\b(?::\\s*)?|\\b[A-Z][\\w$]*Exception\\b(?::\\s*)?");

    /** Netty's prefix to an operating-system reason: {@code bind(..) failed with error(-99): }. */
    private static final Pattern NATIVE_CALL =
            Pattern.compile("\\b\\w+\\(\\.\\.\\) failed(?: with error\\(-?\\d+\\))?: ");

    private FailureMessages() {
    }

    /** The one line describing {@code e} (without the command name). */
    static String describe(Throwable e) {
        Throwable t = unwrap(e);
        String text;
        if (t instanceof CliFailure) {
            text = t.getMessage();
        } else if (t instanceof FileSystemException f) {
            text = where(f) + reason(f);
        } else if (t instanceof UnknownHostException h) {
            text = "unknown host " + h.getMessage();
        } else if (t instanceof EOFException eof) {
            text = "unexpected end of data" + (eof.getMessage() != null ? ": " + eof.getMessage() : "");
        } else if (t instanceof NullPointerException || t instanceof ClassCastException
                || t instanceof IndexOutOfBoundsException || t instanceof ArithmeticException) {
            // a bug, not bad input: its message is about our code ("Cannot invoke String.length()...")
            text = null;
        } else if (t instanceof OutOfMemoryError) {
            text = "out of memory (raise -Xmx or -XX:MaxDirectMemorySize in JAVA_OPTS)";
        } else {
            text = t.getMessage() == null ? null : words(NATIVE_CALL.matcher(
                    CLASS_NAME.matcher(t.getMessage()).replaceAll("")).replaceAll(""));
        }
        if (text == null || text.isBlank()) {
            return "unexpected internal error (set VMABACKUP_DEBUG=1 for details)";
        }
        return oneLine(text);
    }

    /** The failure behind wrappers that add nothing a user can read. */
    static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t instanceof CompletionException || t instanceof ExecutionException
                || t instanceof UncheckedIOException || t instanceof InvocationTargetException)) {
            t = t.getCause();
        }
        return t;
    }

    /** The reason alone, for a message that names the path itself: "no such file", "is a directory". */
    static String reason(Throwable e) {
        Throwable t = unwrap(e);
        if (t instanceof NoSuchFileException) {
            return "no such file or directory";
        } else if (t instanceof AccessDeniedException) {
            return "permission denied";
        } else if (t instanceof NotDirectoryException) {
            return "not a directory";
        } else if (t instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        } else if (t instanceof FileAlreadyExistsException f) {
            return f.getReason() != null ? f.getReason() : "already exists";
        } else if (t instanceof FileSystemException f) {
            return f.getReason() != null ? words(f.getReason()) : "failed";
        }
        return describe(t);
    }

    private static String where(FileSystemException f) {
        String w = f.getFile() == null ? "" : f.getFile();
        if (f.getOtherFile() != null) {
            w += " -> " + f.getOtherFile();
        }
        return w.isEmpty() ? "" : w + ": ";
    }

    /** Operating-system reasons read "Is a directory": in the middle of a line they read better in lower case. */
    private static String words(String s) {
        String t = s.strip();
        if (t.length() > 1 && Character.isUpperCase(t.charAt(0)) && Character.isLowerCase(t.charAt(1))) {
            return t.substring(0, 1).toLowerCase(Locale.ROOT) + t.substring(1);
        }
        return t;
    }

    /** QEMU's and tools' messages may span lines; the error stays one line. */
    private static String oneLine(String s) {
        return s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
