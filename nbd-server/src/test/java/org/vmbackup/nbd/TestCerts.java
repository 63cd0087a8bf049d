package org.vmbackup.nbd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.vmbackup.testkit.ProcessRunner;

/**
 * Throwaway X.509 credentials made with the openssl CLI, laid out as QEMU and libnbd expect a credentials
 * directory: {@code ca-cert.pem}, {@code server-cert.pem}/{@code server-key.pem}, {@code client-cert.pem}/
 * {@code client-key.pem}. The server certificate is valid for 127.0.0.1 and localhost.
 */
record TestCerts(Path dir) {
    Path ca() {
        return dir.resolve("ca-cert.pem");
    }

    Path serverCert() {
        return dir.resolve("server-cert.pem");
    }

    Path serverKey() {
        return dir.resolve("server-key.pem");
    }

    /** Creates the CA, a server and a client certificate in {@code dir}. */
    static TestCerts create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca-cert.pem",
                "-days", "2", "-subj", "/CN=vmbackup test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        issue(dir, "server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                + "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n");
        issue(dir, "client", "/CN=vmbackup test client", "extendedKeyUsage=clientAuth\n"
                + "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n");
        return new TestCerts(dir);
    }

    private static void issue(Path dir, String name, String subject, String extensions)
            throws IOException, InterruptedException {
        Files.writeString(dir.resolve(name + ".ext"), extensions, StandardCharsets.UTF_8);
        openssl(dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name + "-key.pem");
        openssl(dir, "req", "-new", "-key", name + "-key.pem", "-subj", subject, "-out", name + ".csr");
        openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + "-cert.pem");
    }

    private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        ProcessRunner.command(cmd).directory(dir).mergeStderr().timeout(Duration.ofSeconds(60)).run()
                .requireSuccess();
    }
}
