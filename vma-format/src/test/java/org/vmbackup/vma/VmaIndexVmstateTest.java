package org.vmbackup.vma;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VM state's header size is an estimate; the index reads what was stored, whole clusters. */
class VmaIndexVmstateTest {
    @TempDir
    Path dir;

    @Test
    void theVmstateReadsBackWhollyWhateverTheEstimate() throws Exception {
        byte[] state = new byte[200_000];
        new Random(3).nextBytes(state);
        Path archive = dir.resolve("v.vma");
        try (VmaWriter w = VmaWriter.builder().disk("d", 4096).vmstate(1000).open(archive)) { // estimate far too low
            w.writeZeroes(w.device("d"), 0, 4096);
            try (WritableByteChannel vm = w.vmstateChannel()) {
                vm.write(ByteBuffer.wrap(state));
            }
        }
        try (VmaIndex index = VmaIndex.open(archive)) {
            VmaDevice vm = index.header().device("vmstate").orElseThrow();
            VmaDevice d = index.header().device("d").orElseThrow();
            assertThat(index.storedLength(vm)).isEqualTo(4 * 65536); // 200000 bytes take 4 clusters
            assertThat(index.storedLength(d)).isEqualTo(4096);
            ByteBuffer all = ByteBuffer.allocate(5 * 65536);
            assertThat(index.read(vm, 0, all)).isEqualTo(4 * 65536);
            byte[] got = Arrays.copyOf(all.array(), 4 * 65536);
            assertThat(Arrays.copyOf(got, state.length)).isEqualTo(state);
            assertThat(Arrays.copyOfRange(got, state.length, got.length)).containsOnly(0);
        }
    }
}
