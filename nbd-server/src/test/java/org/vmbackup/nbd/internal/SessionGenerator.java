package org.vmbackup.nbd.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Random;

/** Generates plausible client byte streams (handshake, then requests) and mutations of them, for fuzzing. */
public final class SessionGenerator {
    private SessionGenerator() {
    }

    /** A well-formed session for {@code export}: options then a handful of random requests. */
    public static byte[] validSession(Random rnd, String export, long size) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(rnd.nextInt(4));
        if (rnd.nextBoolean()) {
            b.writeBytes(Wire.option(NbdConstants.OPT_STRUCTURED_REPLY, new byte[0]));
            if (rnd.nextBoolean()) {
                b.writeBytes(Wire.option(NbdConstants.OPT_SET_META_CONTEXT,
                        Wire.metaData(export, NbdConstants.BASE_ALLOCATION)));
            }
        }
        if (rnd.nextInt(4) == 0) {
            b.writeBytes(Wire.option(NbdConstants.OPT_LIST, new byte[0]));
            b.writeBytes(Wire.option(NbdConstants.OPT_INFO, Wire.goData(export, 3, 1, 2)));
            b.writeBytes(Wire.option(NbdConstants.OPT_LIST_META_CONTEXT, Wire.metaData(export)));
        }
        if (rnd.nextInt(5) == 0) {
            b.writeBytes(Wire.option(NbdConstants.OPT_EXPORT_NAME, export.getBytes()));
        } else {
            b.writeBytes(Wire.option(NbdConstants.OPT_GO, Wire.goData(export, 3)));
        }
        int requests = rnd.nextInt(12);
        for (int i = 0; i < requests; i++) {
            int type = rnd.nextInt(10) == 0 ? rnd.nextInt(65536) : rnd.nextInt(8);
            int flags = rnd.nextInt(4) == 0 ? rnd.nextInt(65536) : 0;
            long offset = rnd.nextInt(3) == 0 ? rnd.nextLong() : (long) (rnd.nextDouble() * size);
            int length = rnd.nextInt(3) == 0 ? rnd.nextInt(1 << 20) : rnd.nextInt(65537);
            if (type == NbdConstants.CMD_WRITE) {
                byte[] payload = new byte[length];
                rnd.nextBytes(payload);
                b.writeBytes(Wire.request(flags, type, rnd.nextLong(), offset, length, payload));
                payload = null;
            } else if (type != NbdConstants.CMD_DISC || rnd.nextInt(4) == 0) {
                b.writeBytes(Wire.request(flags, type, rnd.nextLong(), offset, length, null));
            }
        }
        return Wire.bytes(b);
    }

    /** {@code session} with random byte flips, cuts, duplicated or inserted random runs. */
    public static byte[] mutate(Random rnd, byte[] session) {
        byte[] s = session.clone();
        int edits = 1 + rnd.nextInt(6);
        for (int e = 0; e < edits && s.length > 0; e++) {
            switch (rnd.nextInt(5)) {
                case 0, 1 -> s[rnd.nextInt(s.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 2 -> s[rnd.nextInt(s.length)] = (byte) rnd.nextInt(256);
                case 3 -> s = java.util.Arrays.copyOf(s, rnd.nextInt(s.length + 1));
                default -> {
                    int at = rnd.nextInt(s.length + 1);
                    byte[] junk = new byte[rnd.nextInt(64)];
                    rnd.nextBytes(junk);
                    byte[] t = new byte[s.length + junk.length];
                    System.arraycopy(s, 0, t, 0, at);
                    System.arraycopy(junk, 0, t, at, junk.length);
                    System.arraycopy(s, at, t, at + junk.length, s.length - at);
                    s = t;
                }
            }
        }
        return s;
    }

    /** Random bytes, sometimes after a correct client-flags word. */
    public static byte[] garbage(Random rnd) {
        byte[] g = new byte[rnd.nextInt(512)];
        rnd.nextBytes(g);
        if (rnd.nextBoolean() && g.length >= 4) {
            g[0] = 0;
            g[1] = 0;
            g[2] = 0;
            g[3] = 3;
        }
        return g;
    }
}
