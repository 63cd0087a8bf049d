package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.vmbackup.testkit.RequiredTool;

/**
 * Every shared vector through every restore path and the archive NBD export, checked by the real tools:
 * {@code qemu-img compare}, {@code qemu-img convert}, {@code nbdcopy}, {@code nbdinfo --map}.
 */
class RestoreVectorsIT {
    @TempDir
    Path tmp;

    static Stream<String> vectors() {
        return RestoreVectors.expected().keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void exportOfEveryDeviceComparesEqualAndCopiesIdentically(String archive) throws Exception {
        Path expectedDir = tmp.resolve("expected");
        RestoreResult raw = RestoreSession.builder().archive(RestoreVectors.dir().resolve(archive))
                .imageDirectory(expectedDir).build().start().join();
        Path sock = tmp.resolve("nbd.sock");
        ArchiveExportServer server = ArchiveExportServer.builder(RestoreVectors.dir().resolve(archive)).unixSocket(sock)
                .start().join();
        try {
            assertThat(server.server().exports()).containsExactlyInAnyOrderElementsOf(
                    RestoreVectors.expected().get(archive).stream().map(RestoreVectors.Device::name).toList());
            for (RestoreVectors.Device d : RestoreVectors.expected().get(archive)) {
                Path expected = expectedDir.resolve(d.name() + ".raw");
                assertThat(RestoreVectors.sha256(expected)).isEqualTo(d.sha256());
                String uri = "nbd+unix:///" + d.name() + "?socket=" + sock;
                String cmp = RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "raw", "-F",
                        "raw", uri, expected.toString());
                assertThat(cmp).contains("Images are identical");
                Path viaQemuImg = tmp.resolve(d.name() + ".convert.raw");
                RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "convert", "-f", "raw", "-O", "raw", uri,
                        viaQemuImg.toString());
                Path viaNbdcopy = tmp.resolve(d.name() + ".nbdcopy.raw");
                RestoreTools.run(RequiredTool.NBDCOPY.path().toString(), uri, viaNbdcopy.toString());
                assertThat(RestoreVectors.sha256(viaQemuImg)).isEqualTo(d.sha256());
                assertThat(RestoreVectors.sha256(viaNbdcopy)).isEqualTo(d.sha256());
                String size = RestoreTools.run(RequiredTool.NBDINFO.path().toString(), "--size", uri).strip();
                assertThat(Long.parseLong(size)).isEqualTo(d.size());
            }
        } finally {
            server.close().join();
        }
        assertThat(raw.disks()).hasSize(RestoreVectors.expected().get(archive).size());
    }

    @Test
    void nbdinfoMapShowsTheArchiveHoles() throws Exception {
        Path sock = tmp.resolve("nbd.sock");
        ArchiveExportServer server = ArchiveExportServer.builder(RestoreVectors.dir().resolve("zero-disk.vma"))
                .unixSocket(sock).start().join();
        ArchiveExportServer two = ArchiveExportServer.builder(RestoreVectors.dir().resolve("two-disks.vma"))
                .unixSocket(tmp.resolve("two.sock")).start().join();
        try {
            String map = RestoreTools.run(RequiredTool.NBDINFO.path().toString(), "--map",
                    "nbd+unix:///drive-scsi0?socket=" + sock);
            // one run covering the whole 4 MiB disk, type 3 = hole,zero
            assertThat(map.strip().lines().toList()).hasSize(1);
            assertThat(map).containsPattern("^\\s*0\\s+4194304\\s+3\\s+hole,zero");
            String mixed = RestoreTools.run(RequiredTool.NBDINFO.path().toString(), "--map",
                    "nbd+unix:///drive-scsi0?socket=" + tmp.resolve("two.sock"));
            List<String> lines = mixed.strip().lines().toList();
            assertThat(lines).anyMatch(l -> l.contains("hole,zero")).anyMatch(l -> l.contains("data"));
            long covered = lines.stream().mapToLong(l -> Long.parseLong(l.trim().split("\\s+")[1])).sum();
            assertThat(covered).isEqualTo(1589248);
        } finally {
            server.close().join();
            two.close().join();
        }
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void qcow2RestoreFromFileAndFromStreamComparesEqual(String archive) throws Exception {
        Path expectedDir = tmp.resolve("expected");
        RestoreSession.builder().archive(RestoreVectors.dir().resolve(archive)).imageDirectory(expectedDir).build()
                .start().join();
        RestoreResult fromFile = RestoreSession.builder().archive(RestoreVectors.dir().resolve(archive))
                .imageDirectory(tmp.resolve("q1")).format(RestoreFormat.QCOW2).build().start().join();
        RestoreResult fromStream = RestoreSession.builder()
                .archive(Files.newInputStream(RestoreVectors.dir().resolve(archive)))
                .imageDirectory(tmp.resolve("q2")).format(RestoreFormat.QCOW2).build().start().join();
        for (RestoreResult r : List.of(fromFile, fromStream)) {
            assertThat(r.disks()).hasSize(RestoreVectors.expected().get(archive).size());
            for (RestoredDisk d : r.disks()) {
                assertThat(d.path().getFileName().toString()).isEqualTo(d.name() + ".qcow2");
                String info = RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "info", d.path().toString());
                assertThat(info).contains("file format: qcow2");
                String cmp = RestoreTools.run(RequiredTool.QEMU_IMG.path().toString(), "compare", "-f", "qcow2",
                        "-F", "raw", d.path().toString(), expectedDir.resolve(d.name() + ".raw").toString());
                assertThat(cmp).contains("Images are identical");
            }
        }
        try (Stream<Path> s = Files.list(tmp.resolve("q2"))) {
            assertThat(s.map(p -> p.getFileName().toString())).allMatch(n -> n.endsWith(".qcow2"));
        }
    }

    @Test
    void rawRestoreIsSparse() throws Exception {
        RestoreResult r = RestoreSession.builder().archive(RestoreVectors.dir().resolve("zero-disk.vma"))
                .imageDirectory(tmp.resolve("z")).build().start().join();
        String du = RestoreTools.run("du", "-B1", r.disks().get(0).path().toString());
        assertThat(Long.parseLong(du.split("\\s+")[0])).isLessThan(64 * 1024);
    }
}
