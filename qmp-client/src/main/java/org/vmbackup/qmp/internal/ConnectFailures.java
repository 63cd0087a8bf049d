package org.vmbackup.qmp.internal;

import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Locale;

/**
 * Says in words why a connection to a QMP socket failed. The transport's own exceptions name Netty classes and
 * errno numbers ({@code AnnotatedConnectException: connect(..) failed with error(-111)}); callers and users need to
 * know what to fix: the path is missing, it is not a socket, or nothing listens on it.
 */
public final class ConnectFailures {
    private ConnectFailures() {
    }

    /** Why connecting to {@code address} failed with {@code cause}: a short phrase without class names. */
    public static String reason(SocketAddress address, Throwable cause) {
        if (address instanceof UnixDomainSocketAddress unix) {
            String file = fileProblem(unix.getPath());
            if (file != null) {
                return file;
            }
        }
        String m = cause.getMessage() == null ? "" : cause.getMessage().toLowerCase(Locale.ROOT);
        if (m.contains("connection refused")) {
            return "connection refused (nothing listens on it: is QEMU running?)";
        }
        if (m.contains("permission denied")) {
            return "permission denied";
        }
        if (m.contains("timed out")) {
            return "connection timed out";
        }
        // Netty's messages look like "connect(..) failed with error(-22): Invalid argument: /path": keep the words.
        String last = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        int colon = last.lastIndexOf("): ");
        return colon >= 0 ? last.substring(colon + 3) : last;
    }

    /** A problem with the socket file itself, or {@code null} if it exists and is a socket. */
    private static String fileProblem(Path path) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return "no such file (is QEMU running, with -qmp unix:" + path + ",server=on?)";
        } catch (java.nio.file.FileSystemException e) {
            String r = e.getReason();
            return r == null ? "cannot access it" : r.substring(0, 1).toLowerCase(Locale.ROOT) + r.substring(1);
        } catch (java.io.IOException e) {
            return null;
        }
        if (a.isDirectory()) {
            return "not a socket but a directory";
        }
        if (a.isRegularFile()) {
            return "not a socket but a regular file";
        }
        return null;
    }

    /** A duration in words: {@code 10 s}, {@code 300 ms}. */
    public static String words(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
