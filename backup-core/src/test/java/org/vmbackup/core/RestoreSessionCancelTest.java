package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vmbackup.core.ArchiveSourceFixtures.random;
import static org.vmbackup.core.ArchiveSourceFixtures.sparseDisk;
import static org.vmbackup.core.ArchiveSourceFixtures.write;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.vmbackup.core.ArchiveSourceFixtures.Content;

/**
 * {@link RestoreSession#cancel()} at any moment, from every source format into both image formats: before the start,
 * during the copy (held to a bandwidth limit so the copy is long enough to be caught), and at seeded random moments
 * over a whole unlimited run (the finish: sealing, fsync, renames). Each outcome is one of two: cancelled (the future
 * fails with a {@link CancellationException}, {@code cancel()} said true, the target directory holds no file at all:
 * no final name, no temporary name) or, when the cancel came too late ({@code cancel()} said false), the complete
 * result with every image in place.
 */
class RestoreSessionCancelTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    static Stream<Arguments> kinds() {
        return Stream.of("vma", "vma.zst", "dir").flatMap(k -> Stream.of(RestoreFormat.RAW, RestoreFormat.QCOW2)
                .map(f -> Arguments.of(k, f)));
    }

    private Path archive(String kind) throws Exception {
        Path p = tmp.resolve(kind.equals("dir") ? "archive" : "archive." + kind);
        write(ArchiveTarget.of(p), new Content(List.of("drive-scsi0", "drive-scsi1"),
                List.of(random(6 * MIB, 1), sparseDisk(10 * MIB, 2)), List.of(), new byte[0]));
        return p;
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void cancelBeforeStartRunsNothing(String kind, RestoreFormat format) throws Exception {
        Path out = tmp.resolve("out");
        RestoreSession s = RestoreSession.builder().archive(archive(kind)).imageDirectory(out).format(format).build();
        assertThat(s.cancel()).isTrue();
        assertCancelled(s.start(), out);
        assertThat(out).doesNotExist();
        assertThatThrownBy(s::start).isInstanceOf(IllegalStateException.class);
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void cancelDuringTheCopyLeavesNoFile(String kind, RestoreFormat format) throws Exception {
        Path archive = archive(kind);
        Random r = new Random(kind.hashCode() * 31L + format.ordinal());
        Path out = tmp.resolve("out");
        // 4 MiB/s over ~9 MiB of data: the copy takes about two seconds; cancel somewhere in its first half
        RestoreSession s = RestoreSession.builder().archive(archive).imageDirectory(out).format(format)
                .bandwidthLimit(4 * MIB).build();
        CompletableFuture<RestoreResult> f = s.start();
        Thread.sleep(100 + r.nextInt(800));
        assertThat(f).as("still copying").isNotDone();
        assertThat(s.cancel()).isTrue();
        assertCancelled(f, out);
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void cancelAtRandomMomentsIsAllOrNothing(String kind, RestoreFormat format) throws Exception {
        Path archive = archive(kind);
        long t0 = System.nanoTime();
        RestoreSession.builder().archive(archive).imageDirectory(tmp.resolve("whole")).format(format).build()
                .start().get(1, TimeUnit.MINUTES);
        long wholeNanos = System.nanoTime() - t0;
        Random r = new Random(kind.hashCode() * 17L + format.ordinal());
        int cancelled = 0;
        for (int i = 0; i < 8; i++) {
            Path out = tmp.resolve("out" + i);
            RestoreSession s = RestoreSession.builder().archive(archive).imageDirectory(out).format(format).build();
            CompletableFuture<RestoreResult> f = s.start();
            // up to 20 % past the measured run: some cancels come too late, some during the finish
            TimeUnit.NANOSECONDS.sleep((long) (r.nextDouble() * 1.2 * wholeNanos));
            if (s.cancel()) {
                assertCancelled(f, out);
                cancelled++;
            } else {
                RestoreResult result = f.get(1, TimeUnit.MINUTES);
                assertThat(result.disks()).hasSize(2);
                for (RestoredDisk d : result.disks()) {
                    assertThat(d.path()).exists();
                }
                try (Stream<Path> files = Files.list(out)) {
                    assertThat(files).hasSize(2);
                }
            }
        }
        assertThat(cancelled).as("some of the random moments fell inside the run").isPositive();
    }

    private static void assertCancelled(CompletableFuture<RestoreResult> f, Path out) throws Exception {
        assertThatThrownBy(() -> f.get(1, TimeUnit.MINUTES)).isInstanceOf(CancellationException.class)
                .satisfiesAnyOf(e -> assertThat(e).hasMessageContaining("restore cancelled"),
                        e -> assertThat(e).isExactlyInstanceOf(CancellationException.class));
        if (Files.exists(out)) {
            try (Stream<Path> files = Files.list(out)) {
                assertThat(files).as("no final-named or temporary file left").isEmpty();
            }
        }
    }
}
