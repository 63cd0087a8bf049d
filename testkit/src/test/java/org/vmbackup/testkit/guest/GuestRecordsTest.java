package org.vmbackup.testkit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GuestRecordsTest {
    // md5sum of "1\n", "2\n", "3\n" as the guest's busybox computes them.
    private static final String R1 = "R 1 b026324c6904b2a9cb4b88d6d61c81d1\n";
    private static final String R2 = "R 2 26ab0db90d72e28ad0ba1e22ee510510\n";
    private static final String R3 = "R 3 6d7fce9fee471194aa8b5b6e47267f03\n";

    @Test
    void acceptsRecordsInSequence() {
        GuestRecords r = GuestRecords.check(R1 + R2 + R3);
        assertThat(r.intact()).isTrue();
        assertThat(r.count()).isEqualTo(3);
        assertThat(r.last()).isEqualTo(3);
        assertThat(GuestRecords.check("").intact()).isTrue();
        assertThat(GuestRecords.check("").last()).isZero();
    }

    @Test
    void reportsATornTailSeparately() {
        GuestRecords r = GuestRecords.check(R1 + R2 + "R 3 6d7f");
        assertThat(r.problems()).isEmpty();
        assertThat(r.tornTail()).isEqualTo("R 3 6d7f");
        assertThat(r.intact()).isFalse();
        assertThat(r.last()).isEqualTo(2);
    }

    @Test
    void findsGapsBadChecksumsAndNoise() {
        assertThat(GuestRecords.check(R1 + R3).problems()).containsExactly("record 3 (line 2) where 2 was expected");
        assertThat(GuestRecords.check(R1 + R2.replace("26ab", "26ac")).problems())
                .containsExactly("record 2 (line 2) has a wrong checksum");
        assertThat(GuestRecords.check(R1 + "\0\0\0\0\n" + R2).problems()).hasSize(1).first().asString()
                .startsWith("line 2 is not a record");
    }
}
