package org.vmbackup.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class NbdCapabilitiesTest {
    /** The smallest backend: size and read only. */
    static class ReadOnlyMinimal implements NbdBackend {
        @Override
        public long size() {
            return 4096;
        }

        @Override
        public CompletableFuture<ByteBuf> read(long offset, int length) {
            return CompletableFuture.completedFuture(Unpooled.buffer(length).writeZero(length));
        }
    }

    /** Adds write and flush; everything else derived. */
    static class WriteAndFlush extends ReadOnlyMinimal {
        @Override
        public CompletableFuture<Void> write(long offset, ByteBuf data, boolean fua) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> flush() {
            return CompletableFuture.completedFuture(null);
        }
    }

    @Test
    void sizeAndReadOnlyGiveAReadOnlyExport() {
        NbdCapabilities c = NbdCapabilities.of(new ReadOnlyMinimal(), false);
        assertThat(c).isEqualTo(new NbdCapabilities(false, false, FuaLevel.NONE, false, false, false, false, true,
                false));
    }

    @Test
    void writeAndFlushDeriveEmulatedFuaAndZeroButNotFastZero() {
        NbdCapabilities c = NbdCapabilities.of(new WriteAndFlush(), false);
        assertThat(c).isEqualTo(new NbdCapabilities(true, true, FuaLevel.EMULATE, true, false, false, false, true,
                false));
    }

    @Test
    void readOnlyExportDisablesEveryWriteCapability() {
        NbdCapabilities c = NbdCapabilities.of(new WriteAndFlush(), true);
        assertThat(c.writable()).isFalse();
        assertThat(c.zero()).isFalse();
        assertThat(c.fua()).isEqualTo(FuaLevel.NONE);
        assertThat(c.flush()).isTrue();
    }

    @Test
    void errnoMappingFollowsTheSpecsContextRules() {
        assertThat(NbdErrno.EROFS.wireValue()).isEqualTo(1);
        assertThat(NbdErrno.EDQUOT.wireValue()).isEqualTo(28);
        assertThat(NbdErrno.ENOTSUP.wireValueFor(false, false)).isEqualTo(22);
        assertThat(NbdErrno.ENOTSUP.wireValueFor(true, false)).isEqualTo(95);
        assertThat(NbdErrno.EOVERFLOW.wireValueFor(false, false)).isEqualTo(22);
        assertThat(NbdErrno.EOVERFLOW.wireValueFor(false, true)).isEqualTo(75);
        assertThat(NbdErrno.EIO.wireValueFor(true, true)).isEqualTo(5);
    }
}
