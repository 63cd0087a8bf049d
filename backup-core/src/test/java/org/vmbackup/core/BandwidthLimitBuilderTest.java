package org.vmbackup.core;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

/** Every session builder takes a bandwidth limit: 0 is unlimited, a negative one is refused at once, by name. */
class BandwidthLimitBuilderTest {
    @Test
    void everyBuilderRefusesANegativeLimitAndTakesZeroAndPositive() {
        List<LongConsumer> setters = List.of(
                n -> BackupSession.builder().bandwidthLimit(n),
                n -> RestoreSession.builder().bandwidthLimit(n),
                n -> RestoreVmSession.builder().bandwidthLimit(n),
                n -> LiveRestoreSession.builder().bandwidthLimit(n));
        for (LongConsumer set : setters) {
            assertThatThrownBy(() -> set.accept(-1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bandwidthLimit").hasMessageContaining("-1")
                    .hasMessageContaining("0 (unlimited)");
            assertThatCode(() -> set.accept(0)).doesNotThrowAnyException();
            assertThatCode(() -> set.accept(Long.MAX_VALUE)).doesNotThrowAnyException();
        }
    }
}
