package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WrittenMapTest {
    private static final long MIB = WrittenMap.CHUNK;

    @Test
    void marksEveryTouchedChunkAndNothingElse() {
        WrittenMap m = new WrittenMap(200 * MIB + 5);
        assertThat(m.anyWritten(0, 200 * MIB + 5)).isFalse();
        m.markWritten(MIB - 1, 2);
        assertThat(m.anyWritten(0, 1)).isTrue();
        assertThat(m.anyWritten(MIB, 1)).isTrue();
        assertThat(m.anyWritten(2 * MIB, MIB)).isFalse();
        m.markWritten(200 * MIB, 5);
        assertThat(m.anyWritten(199 * MIB, MIB)).isFalse();
        assertThat(m.anyWritten(200 * MIB + 4, 1)).isTrue();
        m.markWritten(70 * MIB, 0);
        assertThat(m.anyWritten(70 * MIB, MIB)).isFalse();
        assertThat(m.anyWritten(0, 0)).isFalse();
    }
}
