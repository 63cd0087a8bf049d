package org.vmbackup.qmp;

import java.io.FileDescriptor;
import java.lang.reflect.Field;

/** Reads the number behind a {@link FileDescriptor}, which the JDK keeps private. */
final class JdkFileDescriptors {
    private JdkFileDescriptors() {
    }

    static int number(FileDescriptor fd) {
        if (!fd.valid()) {
            throw new QmpException("the file descriptor is not valid (closed?)");
        }
        try {
            Field f = FileDescriptor.class.getDeclaredField("fd");
            f.setAccessible(true);
            return f.getInt(fd);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new QmpException("cannot read the number of a java.io.FileDescriptor (" + e.getMessage()
                    + "): run with --add-opens java.base/java.io=ALL-UNNAMED, or pass an "
                    + "io.netty.channel.unix.FileDescriptor or an int", e);
        }
    }
}
