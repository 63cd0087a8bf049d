package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ArchiveNamesTest {
    @Test
    void plainNamesAreAccepted() {
        for (String ok : List.of("drive-scsi0", "qemu-server.conf", "vm.json", "a", "disk 1", "données",
                "x..y", "a.", "x".repeat(ArchiveNames.MAX_BYTES))) {
            assertThat(ArchiveNames.problem(ok)).as(ok).isNull();
            assertThat(ArchiveNames.requireSafe(ok, "name")).isEqualTo(ok);
        }
    }

    @Test
    void eachRuleRefusesWithItsReason() {
        assertThat(ArchiveNames.problem("")).isEqualTo("is empty");
        assertThat(ArchiveNames.problem(".")).isEqualTo("starts with a dot");
        assertThat(ArchiveNames.problem("..")).isEqualTo("starts with a dot");
        assertThat(ArchiveNames.problem(".hidden")).isEqualTo("starts with a dot");
        assertThat(ArchiveNames.problem("a/b")).isEqualTo("contains a path separator");
        assertThat(ArchiveNames.problem("../x")).isEqualTo("starts with a dot");
        assertThat(ArchiveNames.problem("x/../y")).isEqualTo("contains a path separator");
        assertThat(ArchiveNames.problem("a\\b")).isEqualTo("contains a path separator");
        assertThat(ArchiveNames.problem("a\u0000b")).isEqualTo("contains a control character");
        assertThat(ArchiveNames.problem("x\ny")).isEqualTo("contains a control character");
        assertThat(ArchiveNames.problem("x\u007f")).isEqualTo("contains a control character");
        assertThat(ArchiveNames.problem("x".repeat(ArchiveNames.MAX_BYTES + 1))).isEqualTo("is longer than 200 bytes");
    }

    @Test
    void lengthIsCountedInUtf8Bytes() {
        String e = "é".repeat(ArchiveNames.MAX_BYTES / 2); // 2 bytes each
        assertThat(ArchiveNames.isSafe(e)).isTrue();
        assertThat(ArchiveNames.isSafe(e + "é")).isFalse();
    }

    @Test
    void theMessageNamesWhatAndShowsControlCharactersEscaped() {
        assertThatThrownBy(() -> ArchiveNames.requireSafe("a\nb", "disk name"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("disk name 'a\\x0ab' is not a plain file name: contains a control character");
    }
}
