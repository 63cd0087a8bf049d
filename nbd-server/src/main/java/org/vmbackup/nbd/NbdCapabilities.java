package org.vmbackup.nbd;

import java.lang.reflect.Method;
import java.util.HashSet;
import java.util.Set;

/**
 * The capabilities of one export as frozen for one connection: the backend's answers combined with the
 * export's read-only flag, with the dependencies between them applied in this one place (no zeroing, trim or
 * FUA on a read-only export; FUA emulation needs flush; fast zero needs zero).
 *
 * @param writable WRITE (and so WRITE_ZEROES/TRIM) is allowed
 * @param flush FLUSH is offered
 * @param fua how FUA is honoured ({@link FuaLevel#NONE}: not offered)
 * @param zero WRITE_ZEROES is offered
 * @param fastZero zeroing is cheaper than writing (FAST_ZERO requests reach the backend)
 * @param trim TRIM is offered
 * @param multiConn connections share one coherent store
 * @param cache CACHE is offered
 * @param extents the backend reports real holes through {@link NbdBackend#extents}
 */
public record NbdCapabilities(boolean writable, boolean flush, FuaLevel fua, boolean zero, boolean fastZero,
                              boolean trim, boolean multiConn, boolean cache, boolean extents) {
    private static final ClassValue<Set<String>> OVERRIDDEN = new ClassValue<>() {
        @Override
        protected Set<String> computeValue(Class<?> type) {
            Set<String> names = new HashSet<>();
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                for (Method m : c.getDeclaredMethods()) {
                    if (!m.isBridge() && !m.isSynthetic()) {
                        names.add(m.getName());
                    }
                }
            }
            return Set.copyOf(names);
        }
    };

    /** Asks the backend each question once and applies the export's read-only flag. */
    public static NbdCapabilities of(NbdBackend backend, boolean readOnly) {
        boolean writable = !readOnly && backend.canWrite();
        boolean flush = backend.canFlush();
        FuaLevel fua = writable ? backend.fuaLevel() : FuaLevel.NONE;
        if (fua == FuaLevel.EMULATE && !flush) {
            fua = FuaLevel.NONE;
        }
        boolean zero = writable && backend.canZero();
        boolean fastZero = zero && backend.canFastZero();
        boolean trim = writable && backend.canTrim();
        return new NbdCapabilities(writable, flush, fua, zero, fastZero, trim, backend.canMultiConn(),
                backend.canCache(), backend.canExtents());
    }

    /**
     * Whether the backend's class (or a superclass below {@link Object}) declares a method of that name, i.e.
     * overrides the interface's default. Backends that wrap others answer the capability queries themselves.
     */
    static boolean overrides(NbdBackend backend, String method) {
        return OVERRIDDEN.get(backend.getClass()).contains(method);
    }
}
