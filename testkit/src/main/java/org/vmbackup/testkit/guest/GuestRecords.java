package org.vmbackup.testkit.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Checks the workload's records: lines {@code R N MD5} where MD5 is the md5 of {@code "N\n"}, numbered from 1
 * without gaps. A record that is torn, garbled, out of order or missing is a problem.
 *
 * @param count complete, valid records
 * @param last the number of the last valid record (0 when none)
 * @param tornTail bytes after the last newline (a record cut by a crash; fine after a crash, not after a freeze)
 * @param problems what is wrong, empty when every complete line is a valid record in sequence
 */
public record GuestRecords(long count, long last, String tornTail, List<String> problems) {
    /** Copies the problems. */
    public GuestRecords {
        problems = List.copyOf(problems);
    }

    /** Whether every record is intact, in sequence, and nothing is torn. */
    public boolean intact() {
        return problems.isEmpty() && tornTail.isEmpty();
    }

    /** Checks the content of {@code /data/records}. */
    public static GuestRecords check(String content) {
        List<String> problems = new ArrayList<>();
        int end = content.lastIndexOf('\n') + 1;
        String torn = content.substring(end);
        long expected = 1;
        long count = 0;
        String[] lines = end == 0 ? new String[0] : content.substring(0, end - 1).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int lineNo = i + 1;
            String[] f = line.split(" ");
            if (f.length != 3 || !f[0].equals("R")) {
                problems.add("line " + lineNo + " is not a record: '" + abbreviate(line) + "'");
                continue;
            }
            long n;
            try {
                n = Long.parseLong(f[1]);
            } catch (NumberFormatException e) {
                problems.add("line " + lineNo + " has no record number: '" + abbreviate(line) + "'");
                continue;
            }
            if (!f[2].equals(md5(n + "\n"))) {
                problems.add("record " + n + " (line " + lineNo + ") has a wrong checksum");
                continue;
            }
            if (n != expected) {
                problems.add("record " + n + " (line " + lineNo + ") where " + expected + " was expected");
            }
            expected = n + 1;
            count++;
        }
        return new GuestRecords(count, expected - 1, torn, problems);
    }

    /**
     * Reads {@code /records} from the ext4 data disk image with the packaged {@code debugfs} and checks it.
     * The image must not be written meanwhile (stop the VM, or check a backup's copy).
     */
    public static GuestRecords read(TinyGuest guest, Path image) throws IOException {
        Path dump = Files.createTempFile("vmbackup-records-", ".txt");
        try {
            Files.delete(dump);
            Exec.Result r = Exec.run(guest.e2fsprogs("debugfs", "-R", "dump /records " + dump, image.toString()),
                    null, Map.of(), Duration.ofMinutes(2));
            if (r.exitCode() != 0 || !Files.exists(dump)) {
                throw new IOException("debugfs could not read /records from " + image + ": " + r.output().strip());
            }
            return check(Files.readString(dump, StandardCharsets.ISO_8859_1));
        } finally {
            Files.deleteIfExists(dump);
        }
    }

    /** What {@code e2fsck -fn} said about a file system image. */
    public record Fsck(int exitCode, String output) {
        /** Exit code 0: no errors found (and, with {@code -n}, nothing changed). */
        public boolean clean() {
            return exitCode == 0;
        }

        /** Whether e2fsck saw a journal that needs recovery (a file system not cleanly quiesced). */
        public boolean needsRecovery() {
            // e2fsck -n says "skipping journal recovery because doing a read-only filesystem check"
            return output.contains("needs_recovery") || output.contains("recovering journal")
                    || output.contains("journal needs recovery") || output.contains("skipping journal recovery");
        }
    }

    /** Runs the packaged {@code e2fsck -fn} (check everything, change nothing) on an image. */
    public static Fsck fsck(TinyGuest guest, Path image) throws IOException {
        Exec.Result r = Exec.run(guest.e2fsprogs("e2fsck", "-fn", image.toString()), null, Map.of(),
                Duration.ofMinutes(2));
        return new Fsck(r.exitCode(), r.output());
    }

    private static String md5(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
