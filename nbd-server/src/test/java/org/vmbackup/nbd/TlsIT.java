package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vmbackup.nbd.backend.MemoryBackend;
import org.vmbackup.testkit.ProcessResult;
import org.vmbackup.testkit.ProcessRunner;
import org.vmbackup.testkit.RequiredTool;

/** STARTTLS with x509 certificates against QEMU's and libnbd's clients over TCP. */
class TlsIT {
    private static final long SIZE = 16L << 20;

    @TempDir
    static Path dir;

    private static TestCerts certs;
    private static NbdServer server;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCerts.create(dir.resolve("pki"));
        server = NbdServer.builder().tcp(0)
                .tls(NbdTls.fromPem(certs.serverCert(), certs.serverKey(), certs.ca()))
                .export(NbdExport.of("secure", new MemoryBackend(SIZE)).requiringTls())
                .export(NbdExport.of("open", new MemoryBackend(SIZE)))
                .build().start().get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close().get(10, TimeUnit.SECONDS);
    }

    private static String tlsOpts(String export) {
        return "driver=nbd,host=127.0.0.1,port=" + server.port() + ",export=" + export + ",tls-creds=tls0";
    }

    private static String tlsObject() {
        return "tls-creds-x509,dir=" + certs.dir() + ",endpoint=client,id=tls0";
    }

    @Test
    void qemuImgInfoConnectsOverTls() throws Exception {
        Result r = run(RequiredTool.QEMU_IMG.path().toString(), "info", "--object", tlsObject(), "--image-opts",
                tlsOpts("secure"));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("virtual size: 16 MiB");
    }

    @Test
    void qemuIoWritesAndReadsBackOverTls() throws Exception {
        Result r = run(RequiredTool.QEMU_IO.path().toString(), "--object", tlsObject(), "--image-opts",
                tlsOpts("secure"), "-c", "write -P 0x5a 0 1M", "-c", "read -P 0x5a 0 1M", "-c", "flush");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).doesNotContainIgnoringCase("fail").doesNotContainIgnoringCase("error");
        assertThat(server.metrics("secure").bytesWritten()).isGreaterThanOrEqualTo(1 << 20);
    }

    @Test
    void nbdinfoConnectsWithTlsCertificates() throws Exception {
        Result r = run(RequiredTool.NBDINFO.path().toString(), "--size",
                "nbds://127.0.0.1:" + server.port() + "/secure?tls-certificates=" + certs.dir());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output().strip()).isEqualTo(Long.toString(SIZE));
    }

    @Test
    void clientWithoutTlsIsRefusedOnTlsOnlyExport() throws Exception {
        Result r = run(RequiredTool.QEMU_IMG.path().toString(), "info",
                "nbd://127.0.0.1:" + server.port() + "/secure");
        assertThat(r.exit()).as(r.output()).isNotZero();
        assertThat(r.output()).containsIgnoringCase("TLS");
        Result open = run(RequiredTool.QEMU_IMG.path().toString(), "info",
                "nbd://127.0.0.1:" + server.port() + "/open");
        assertThat(open.exit()).as("plain export still works: " + open.output()).isZero();
    }

    @Test
    void clientWithoutCertificateIsRefused() throws Exception {
        Path caOnly = dir.resolve("ca-only");
        Files.createDirectories(caOnly);
        Files.copy(certs.ca(), caOnly.resolve("ca-cert.pem"));
        Result r = run(RequiredTool.QEMU_IMG.path().toString(), "info", "--object",
                "tls-creds-x509,dir=" + caOnly + ",endpoint=client,id=tls0", "--image-opts", tlsOpts("secure"));
        assertThat(r.exit()).as(r.output()).isNotZero();
    }

    @Test
    void forcedTlsServerRefusesEverythingBeforeStartTls() throws Exception {
        NbdServer forced = NbdServer.builder().tcp(0)
                .tls(NbdTls.fromPem(certs.serverCert(), certs.serverKey(), certs.ca())).tlsRequired(true)
                .export(NbdExport.of("any", new MemoryBackend(SIZE))).build().start().get(10, TimeUnit.SECONDS);
        try {
            Result plain = run(RequiredTool.NBDINFO.path().toString(), "--size",
                    "nbd://127.0.0.1:" + forced.port() + "/any");
            assertThat(plain.exit()).as(plain.output()).isNotZero();
            Result secure = run(RequiredTool.NBDINFO.path().toString(), "--size",
                    "nbds://127.0.0.1:" + forced.port() + "/any?tls-certificates=" + certs.dir());
            assertThat(secure.exit()).as(secure.output()).isZero();
            assertThat(secure.output().strip()).isEqualTo(Long.toString(SIZE));
        } finally {
            forced.close().get(10, TimeUnit.SECONDS);
        }
    }

    record Result(int exit, String output) {
    }

    static Result run(String... cmd) throws IOException, InterruptedException {
        ProcessResult r = ProcessRunner.command(cmd).mergeStderr().timeout(Duration.ofSeconds(60)).run();
        return new Result(r.exitCode(), r.stdout());
    }
}
