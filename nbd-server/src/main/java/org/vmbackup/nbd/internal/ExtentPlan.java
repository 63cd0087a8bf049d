package org.vmbackup.nbd.internal;

import java.util.ArrayList;
import java.util.List;
import org.vmbackup.nbd.NbdExtent;

/**
 * Turns whatever extents a backend reported into well-formed, clipped, merged runs covering a request: the
 * backend may return runs that overlap the request's edges, stop early or be malformed; the client must only
 * ever see consecutive runs starting at the request offset.
 */
final class ExtentPlan {
    private ExtentPlan() {
    }

    /**
     * Consecutive runs from {@code offset}, clipped to {@code length}, adjacent runs with equal flags merged,
     * at most {@code max} of them. A backend that stopped short ({@link org.vmbackup.nbd.NbdBackend#extents} allows
     * it) gets a reply that stops there too: the NBD protocol lets a block-status reply cover less than asked (the
     * client asks again), whereas calling the rest data would hide every hole in it (and a following data run would
     * swallow it). Only when nothing usable was reported at the offset (none, or inconsistent) is the range data.
     */
    static List<NbdExtent> descriptors(long offset, long length, List<NbdExtent> reported, int max) {
        return descriptors(offset, length, reported, max, false);
    }

    private static List<NbdExtent> descriptors(long offset, long length, List<NbdExtent> reported, int max,
            boolean cover) {
        long end = offset + length;
        List<NbdExtent> out = new ArrayList<>();
        long pos = offset;
        for (NbdExtent e : reported == null ? List.<NbdExtent>of() : reported) {
            if (pos >= end || out.size() > max) {
                break;
            }
            if (e == null || e.end() <= pos) {
                continue;
            }
            if (e.offset() > pos) {
                break;
            }
            long runEnd = Math.min(e.end(), end);
            append(out, new NbdExtent(pos, runEnd - pos, e.hole(), e.zero()));
            pos = runEnd;
        }
        if (pos < end && (cover || out.isEmpty())) {
            append(out, NbdExtent.data(pos, end - pos));
        }
        // Keep descriptors within 32-bit lengths (a status descriptor's length field).
        List<NbdExtent> capped = new ArrayList<>(Math.min(out.size(), max));
        for (NbdExtent e : out) {
            if (capped.size() == max) {
                break;
            }
            capped.add(e.length() > 0xFFFF_F000L ? new NbdExtent(e.offset(), 0xFFFF_F000L, e.hole(), e.zero()) : e);
            if (e.length() > 0xFFFF_F000L) {
                break;
            }
        }
        return capped;
    }

    /**
     * The pieces of a structured READ: zero runs (sent as holes) and data runs (read from the backend). With
     * more than {@code maxPieces} data runs the whole range is one data piece, to bound the work per request.
     */
    static List<NbdExtent> pieces(long offset, int length, List<NbdExtent> reported, int maxPieces) {
        List<NbdExtent> runs = new ArrayList<>();
        // a READ must cover its whole range: what the backend did not report is read as data
        for (NbdExtent e : descriptors(offset, length, reported, Integer.MAX_VALUE, true)) {
            // Only "reads as zero" matters for READ; a hole without the zero bit has undefined content.
            NbdExtent piece = e.zero() ? NbdExtent.hole(e.offset(), e.length()) : NbdExtent.data(e.offset(), e.length());
            append(runs, piece);
        }
        long dataRuns = runs.stream().filter(e -> !e.zero()).count();
        if (dataRuns > maxPieces) {
            return List.of(NbdExtent.data(offset, length));
        }
        return runs;
    }

    private static void append(List<NbdExtent> out, NbdExtent e) {
        if (!out.isEmpty()) {
            NbdExtent last = out.get(out.size() - 1);
            if (last.hole() == e.hole() && last.zero() == e.zero() && last.end() == e.offset()) {
                out.set(out.size() - 1, new NbdExtent(last.offset(), last.length() + e.length(), e.hole(), e.zero()));
                return;
            }
        }
        out.add(e);
    }
}
