package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ArchiveLayoutTest {
    @Test
    void namesThatCouldEscapeADirectoryAreRefused() {
        for (String bad : List.of("", ".", "..", "a/b", "../x", "a\\b", "x\ny")) {
            assertThatThrownBy(() -> new ArchiveDisk(bad, 1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> ConfigBlob.ofText(bad, "")).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new ArchiveDisk("vmstate", 1)).hasMessageContaining("reserved");
        assertThatThrownBy(() -> new ArchiveDisk("d", 0)).hasMessageContaining("positive");
    }

    @Test
    void duplicatesAreRefusedByName() {
        UUID u = UUID.randomUUID();
        Instant t = Instant.EPOCH;
        assertThatThrownBy(() -> new ArchiveLayout(u, t, List.of(new ArchiveDisk("a", 1), new ArchiveDisk("a", 2)),
                0, List.of())).hasMessageContaining("duplicate disk name").hasMessageContaining("a");
        assertThatThrownBy(() -> new ArchiveLayout(u, t, List.of(), 0,
                List.of(ConfigBlob.ofText("c", ""), ConfigBlob.ofText("c", "x")))).hasMessageContaining("duplicate config");
        assertThatThrownBy(() -> new ArchiveLayout(u, t, List.of(), -1, List.of())).hasMessageContaining("negative");
    }

    @Test
    void configBlobIsImmutable() {
        byte[] b = {1, 2, 3};
        ConfigBlob c = new ConfigBlob("x.conf", b);
        b[0] = 9;
        c.content()[1] = 9;
        assertThat(c.content()).containsExactly(1, 2, 3);
        assertThat(c).isEqualTo(new ConfigBlob("x.conf", new byte[] {1, 2, 3}));
        assertThat(c.size()).isEqualTo(3);
    }

    @Test
    void layoutKnowsWhetherItHasVmstate() {
        ArchiveLayout l = new ArchiveLayout(UUID.randomUUID(), Instant.EPOCH, List.of(new ArchiveDisk("d", 512)),
                4096, List.of());
        assertThat(l.hasVmstate()).isTrue();
        assertThat(l.disk(0).name()).isEqualTo("d");
        assertThat(new ArchiveLayout(l.uuid(), l.created(), l.disks(), 0, List.of()).hasVmstate()).isFalse();
    }
}
