package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The reference tool's archives decode to the expected images and list output. */
class VectorsTest {
    static Path vector(String name) throws Exception {
        return Path.of(VectorsTest.class.getResource("/vectors/" + name).toURI());
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    /** The sha256 of a device (or config) name in expected.json's entry for this archive. */
    static String expectedSha(String archive, String key) throws Exception {
        String json = Files.readString(vector("expected.json"));
        int start = json.indexOf("\"" + archive + "\"");
        int end = json.indexOf(".vma\"", start + archive.length() + 2);
        String part = json.substring(start, end < 0 ? json.length() : end);
        Matcher dev = Pattern.compile("\"name\": \"" + Pattern.quote(key) + "\",\\s*\"size\": \\d+,\\s*\"sha256\": \"(\\w+)\"")
                .matcher(part);
        if (dev.find()) {
            return dev.group(1);
        }
        Matcher cfg = Pattern.compile("\"" + Pattern.quote(key) + "\": \"(\\w+)\"").matcher(part);
        return cfg.find() ? cfg.group(1) : null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"two-disks", "config-only", "zero-disk", "sector-aligned"})
    void vectorDecodesToExpectedImages(String name) throws Exception {
        try (VmaReader r = VmaReader.open(vector(name + ".vma"))) {
            ArchiveImages a = ArchiveImages.decode(r);
            assertThat(a.header.configs()).isNotEmpty();
            for (VmaConfig c : a.header.configs()) {
                assertThat(sha256(c.data())).as(c.name()).isEqualTo(expectedSha(name + ".vma", c.name()));
            }
            for (VmaDevice d : a.header.devices()) {
                assertThat(sha256(a.images.get(d.name()))).as(d.name())
                        .isEqualTo(expectedSha(name + ".vma", d.name()));
            }
            assertThat(r.position()).isEqualTo(Files.size(vector(name + ".vma")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"two-disks", "config-only", "zero-disk", "sector-aligned"})
    void listMatchesReferenceOutput(String name) throws Exception {
        List<String> expected = Files.readAllLines(vector(name + ".list.txt"), StandardCharsets.UTF_8);
        try (InputStream in = Files.newInputStream(vector(name + ".vma")); VmaReader r = VmaReader.open(in)) {
            List<String> lines = VmaListing.lines(r.header(), ZoneOffset.UTC);
            assertThat(lines.subList(0, lines.size() - 1)).isEqualTo(expected);
            assertThat(lines.get(lines.size() - 1)).matches("CTIME: \\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}");
        }
    }
}
