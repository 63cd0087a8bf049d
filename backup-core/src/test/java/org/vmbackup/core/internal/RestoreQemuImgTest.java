package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RestoreQemuImgTest {
    @Test
    void qemuImgGetsTheRateOnlyWhenLimited() {
        var cmd = java.util.List.of("qemu-img", "convert", "-q", "a", "b");
        assertThat(RestoreQemuImg.withRate(cmd, 0)).isEqualTo(cmd);
        assertThat(RestoreQemuImg.withRate(cmd, 41943040))
                .containsExactly("qemu-img", "convert", "-r", "41943040", "-q", "a", "b");
    }
}
