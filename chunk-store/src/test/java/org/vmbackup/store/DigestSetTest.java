package org.vmbackup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** DigestSet against a HashSet, through several growths, with digests that share their first bytes too. */
class DigestSetTest {
    @Test
    void behavesLikeAHashSetThroughGrowth() {
        Random r = new Random(5);
        DigestSet set = new DigestSet();
        Set<ByteBuffer> model = new HashSet<>();
        byte[][] pool = new byte[20_000][];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = new byte[32];
            r.nextBytes(pool[i]);
            if (i % 7 == 0 && i > 0) { // same first 8 bytes as another digest: probing must compare all 32
                System.arraycopy(pool[i - 1], 0, pool[i], 0, 8);
            }
        }
        for (int n = 0; n < 60_000; n++) {
            byte[] d = pool[r.nextInt(pool.length)];
            assertThat(set.add(d.clone())).isEqualTo(model.add(ByteBuffer.wrap(d)));
        }
        assertThat(set.size()).isEqualTo(model.size());
        for (byte[] d : pool) {
            assertThat(set.contains(d)).isEqualTo(model.contains(ByteBuffer.wrap(d)));
        }
        byte[] absent = new byte[32];
        r.nextBytes(absent);
        assertThat(set.contains(absent)).isFalse();
    }

    @Test
    void holdsMoreDigestsThanOneSegmentOfSlots() {
        DigestSet set = new DigestSet();
        Random r = new Random(6);
        byte[] d = new byte[32];
        int n = 1_000_000; // 2^21 slots once grown: two segments
        for (int i = 0; i < n; i++) {
            r.nextBytes(d);
            assertThat(set.add(d.clone())).isTrue();
        }
        assertThat(set.size()).isEqualTo(n);
        Random again = new Random(6);
        for (int i = 0; i < n; i++) {
            again.nextBytes(d);
            assertThat(set.contains(d)).isTrue();
        }
    }

    @Test
    void refusesWhatIsNotADigest() {
        assertThatThrownBy(() -> new DigestSet().add(new byte[31])).isInstanceOf(IllegalArgumentException.class);
    }
}
