package org.vmbackup.testkit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyGuestTest {
    @TempDir
    Path dir;

    @Test
    void aGuestThatCannotBeBuiltFailsSayingWhatIsNeeded() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("cache"), "a file where the cache should be");
        assertThatThrownBy(() -> TinyGuest.build(notADirectory.resolve("guest")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot build the tiny test guest")
                .hasMessageContaining("apt-get")
                .hasMessageContaining(notADirectory.toString());
    }

    @Test
    void theInitScriptLoadsTheModulesInOrderAndRunsTheWorkload() throws Exception {
        String init = TinyGuestBuilder.initScript();
        assertThat(init).startsWith("#!/bin/sh\n").doesNotContain("@MODULES@")
                .contains("for m in virtio_pci_modern_dev virtio_pci_legacy_dev virtio_ring virtio virtio_pci "
                        + "virtio_blk virtio_console crc32c_generic jbd2 mbcache crc16 ext4; do")
                .contains("/usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0")
                .contains("echo \"tick $t\"").contains("sync /data/records").doesNotContain("fsync /data/records")
                .contains("echo \"rec $n $((t1 - t0))\"");
    }
}
