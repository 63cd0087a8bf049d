package org.vmbackup.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Which byte ranges of one chunk have been written: merged intervals. Not thread-safe (its chunk's lock). */
final class Coverage {
    private final TreeMap<Integer, Integer> ranges = new TreeMap<>();
    private long covered;

    /** Adds {@code [from, to)}. */
    void add(int from, int to) {
        int start = from;
        int end = to;
        Map.Entry<Integer, Integer> before = ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
            covered -= before.getValue() - before.getKey();
            ranges.remove(before.getKey());
        }
        Map.Entry<Integer, Integer> next;
        while ((next = ranges.ceilingEntry(start)) != null && next.getKey() <= end) {
            end = Math.max(end, next.getValue());
            covered -= next.getValue() - next.getKey();
            ranges.remove(next.getKey());
        }
        ranges.put(start, end);
        covered += end - start;
    }

    long covered() {
        return covered;
    }

    /** The gaps in {@code [0, length)}, as {from, to} pairs. */
    List<int[]> gaps(int length) {
        List<int[]> out = new ArrayList<>();
        int pos = 0;
        for (Map.Entry<Integer, Integer> e : ranges.entrySet()) {
            if (e.getKey() > pos) {
                out.add(new int[] {pos, e.getKey()});
            }
            pos = Math.max(pos, e.getValue());
        }
        if (pos < length) {
            out.add(new int[] {pos, length});
        }
        return out;
    }
}
