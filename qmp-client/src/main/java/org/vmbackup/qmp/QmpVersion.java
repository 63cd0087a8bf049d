package org.vmbackup.qmp;

/**
 * A QEMU version as in the greeting and {@code query-version}.
 *
 * @param major e.g. 7
 * @param minor e.g. 2
 * @param micro e.g. 0
 * @param packageVersion the free-form {@code package} string (Debian puts its package version there)
 */
public record QmpVersion(int major, int minor, int micro, String packageVersion) implements Comparable<QmpVersion> {

    /** Decodes {@code {"qemu": {"major":..,"minor":..,"micro":..}, "package": ".."}}. */
    public static QmpVersion decode(Json json) {
        Json q = json.require("qemu");
        return new QmpVersion(q.require("major").asInt(), q.require("minor").asInt(), q.require("micro").asInt(),
                json.opt("package").map(Json::asString).orElse(""));
    }

    /** Whether this version is at least {@code major.minor}. */
    public boolean atLeast(int major, int minor) {
        return this.major > major || (this.major == major && this.minor >= minor);
    }

    @Override
    public int compareTo(QmpVersion o) {
        int c = Integer.compare(major, o.major);
        if (c == 0) {
            c = Integer.compare(minor, o.minor);
        }
        return c != 0 ? c : Integer.compare(micro, o.micro);
    }

    /** {@code major.minor.micro}. */
    @Override
    public String toString() {
        return major + "." + minor + "." + micro;
    }
}
