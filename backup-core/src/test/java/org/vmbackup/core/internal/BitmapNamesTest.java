package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.vmbackup.store.SnapshotId;

/** Our bitmap names round-trip, and no name of another store, another VM or another tool is taken for ours. */
class BitmapNamesTest {
    private static final String STORE = "1725a80d-9c1e-4f7a-b7a1-000000000000";
    private final BitmapNames web = new BitmapNames(STORE, "web");

    @Test
    void aNameProvesTheSnapshotItWasMadeFor() {
        SnapshotId id = SnapshotId.of("web", Instant.parse("2026-12-07T04:25:18Z"));
        assertThat(web.of(id)).isEqualTo("vmbackup-1725a80d-web-2026-12-07T04:25:18Z");
        assertThat(web.parse(web.of(id))).contains(id);
    }

    @Test
    void namesOfOtherStoresVmsAndToolsAreNotOurs() {
        SnapshotId other = SnapshotId.of("web-2", Instant.parse("2026-12-07T04:25:18Z"));
        // "web-2"'s bitmap starts with "web"'s prefix: the rest must still be exactly an instant
        assertThat(web.parse(new BitmapNames(STORE, "web-2").of(other))).isEmpty();
        assertThat(web.parse(new BitmapNames("99999999-x", "web").of(SnapshotId.of("web", Instant.EPOCH))))
                .isEmpty();
        assertThat(web.parse("libvirt-tmp-backup")).isEmpty();
        assertThat(web.parse("vmbackup-1725a80d-web-")).isEmpty();
        assertThat(web.parse("vmbackup-1725a80d-web-2026-12-07T04:25:18.5Z")).isEmpty();
    }

    @Test
    void anyStoresAndVmsBitmapIsRecognisedAndNoOtherName() {
        SnapshotId id = SnapshotId.of("web-2", Instant.parse("2026-12-07T04:25:18Z"));
        String name = new BitmapNames(STORE, "web-2").of(id);
        assertThat(BitmapNames.owner(name)).contains(new BitmapNames.Owner("1725a80d", id));
        assertThat(BitmapNames.owner(name).get().ofStore(STORE)).isTrue();
        assertThat(BitmapNames.owner(name).get().ofStore("99999999-x")).isFalse();
        assertThat(BitmapNames.owner("libvirt-tmp-backup")).isEmpty();
        assertThat(BitmapNames.owner("pbs-incremental-dirty-bitmap")).isEmpty();
        assertThat(BitmapNames.owner("vmbackup-1725a80d--2026-12-07T04:25:18Z")).isEmpty();
        assertThat(BitmapNames.owner("vmbackup-1725a80d-web-2026-12-07T04:25:18.5Z")).isEmpty();
        assertThat(BitmapNames.owner("vmbackup-1725a80d-web-2026-13-07T04:25:18Z")).isEmpty();
        assertThat(BitmapNames.owner("myvmbackup-1725a80d-web-2026-12-07T04:25:18Z")).isEmpty();
    }
}
