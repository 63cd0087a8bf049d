package org.vmbackup.testkit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CpioTest {
    /** One parsed newc entry. */
    record Entry(String name, int mode, int rdevMajor, int rdevMinor, String data) {
    }

    /** Reads back a newc archive the way the kernel does: header, name, pad to 4, data, pad to 4. */
    static List<Entry> parse(byte[] archive) {
        List<Entry> entries = new ArrayList<>();
        int pos = 0;
        while (true) {
            String header = new String(archive, pos, 110, StandardCharsets.US_ASCII);
            assertThat(header).startsWith("070701");
            long[] f = new long[13];
            for (int i = 0; i < 13; i++) {
                f[i] = Long.parseLong(header.substring(6 + 8 * i, 14 + 8 * i), 16);
            }
            int nameSize = (int) f[11];
            String name = new String(archive, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            assertThat(archive[pos + 110 + nameSize - 1]).isZero();
            pos = align(pos + 110 + nameSize);
            int size = (int) f[6];
            String data = new String(archive, pos, size, StandardCharsets.UTF_8);
            pos = align(pos + size);
            if (name.equals("TRAILER!!!")) {
                assertThat(pos).isEqualTo(archive.length);
                return entries;
            }
            entries.add(new Entry(name, (int) f[1], (int) f[9], (int) f[10], data));
        }
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    @Test
    void writesNewcEntriesWithTheirParentsAndATrailer() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (Cpio cpio = new Cpio(out)) {
            cpio.charDevice("/dev/console", 0600, 5, 1);
            cpio.file("init", 0755, "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8));
            cpio.file("usr/sbin/qemu-ga", 0755, "x".getBytes(StandardCharsets.UTF_8));
            cpio.symlink("bin/sh", "busybox");
            cpio.directory("usr");
        }
        List<Entry> entries = parse(out.toByteArray());
        assertThat(entries).extracting(Entry::name)
                .containsExactly("dev", "dev/console", "init", "usr", "usr/sbin", "usr/sbin/qemu-ga", "bin", "bin/sh");
        assertThat(entries.get(1)).isEqualTo(new Entry("dev/console", 0020600, 5, 1, ""));
        assertThat(entries.get(2)).isEqualTo(new Entry("init", 0100755, 0, 0, "#!/bin/sh\n"));
        assertThat(entries.get(0).mode()).isEqualTo(0040755);
        assertThat(entries.get(7)).isEqualTo(new Entry("bin/sh", 0120777, 0, 0, "busybox"));
    }
}
