package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.qmp.command.BlockCommands;
import org.vmbackup.qmp.command.BlockCommands.SyncMode;
import org.vmbackup.qmp.command.BlockdevOptions;
import org.vmbackup.qmp.command.DirtyBitmapCommands;
import org.vmbackup.qmp.command.FdCommands;
import org.vmbackup.qmp.command.MigrationCommands;
import org.vmbackup.qmp.command.NbdCommands;
import org.vmbackup.qmp.command.QueryCommands;
import org.vmbackup.qmp.command.SocketAddress;
import org.vmbackup.qmp.command.TransactionCommands;

/** The arguments the typed commands put on the wire, in the shapes QEMU 7.2's schema documents. */
class QmpCommandSerializationTest {
    static JsonObject args(QmpCommand<?> c) throws Exception {
        StringWriter w = new StringWriter();
        try (JsonGenerator g = JsonCodec.factory(1 << 20).createGenerator(w)) {
            g.writeStartObject();
            c.writeArguments(g);
            g.writeEndObject();
        }
        return Json.parse(w.toString()).asObject();
    }

    @Test
    void blockdevAddNestsTheProtocolNodeAndLeavesDefaultsOut() throws Exception {
        var add = new BlockCommands.BlockdevAdd(new BlockdevOptions.Qcow2("bk", BlockdevOptions.Ref.of(
                new BlockdevOptions.File("bk-file", "/b/vda.qcow2")), null, true, null));
        assertThat(args(add).toJson()).isEqualTo("{\"driver\":\"qcow2\",\"node-name\":\"bk\",\"file\":{\"driver\":"
                + "\"file\",\"node-name\":\"bk-file\",\"filename\":\"/b/vda.qcow2\"},\"backing\":null}");
        var nbd = new BlockCommands.BlockdevAdd(new BlockdevOptions.Nbd("t", SocketAddress.unix("/run/n.sock"), "vda",
                5L, null, null));
        assertThat(args(nbd).toJson()).isEqualTo("{\"driver\":\"nbd\",\"node-name\":\"t\",\"server\":{\"type\":"
                + "\"unix\",\"path\":\"/run/n.sock\"},\"export\":\"vda\",\"reconnect-delay\":5}");
    }

    @Test
    void transactionWrapsActionsAsTypeAndData() throws Exception {
        var tx = new TransactionCommands.Transaction(List.of(
                BlockCommands.BlockdevBackup.builder("bk-vda", "vda", "bk", SyncMode.FULL).autoFinalize(true)
                        .autoDismiss(false).build(),
                new DirtyBitmapCommands.Merge("vda", "tmp", List.of(DirtyBitmapCommands.BitmapRef.named("a"),
                        new DirtyBitmapCommands.BitmapRef("vdb", "b")))),
                TransactionCommands.CompletionMode.GROUPED);
        assertThat(args(tx).toJson()).isEqualTo("{\"actions\":[{\"type\":\"blockdev-backup\",\"data\":{\"job-id\":"
                + "\"bk-vda\",\"device\":\"vda\",\"target\":\"bk\",\"sync\":\"full\",\"auto-finalize\":true,"
                + "\"auto-dismiss\":false}},{\"type\":\"block-dirty-bitmap-merge\",\"data\":{\"node\":\"vda\","
                + "\"target\":\"tmp\",\"bitmaps\":[\"a\",{\"node\":\"vdb\",\"name\":\"b\"}]}}],"
                + "\"properties\":{\"completion-mode\":\"grouped\"}}");
        assertThatThrownBy(() -> new TransactionCommands.Transaction(List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nbdServerUsesTheLegacyAddressAndExportsTheNbdType() throws Exception {
        assertThat(args(new NbdCommands.NbdServerStart(SocketAddress.inet("127.0.0.1", 10809))).toJson())
                .isEqualTo("{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\",\"port\":\"10809\"}}}");
        assertThat(args(new NbdCommands.BlockExportAdd("e", "n", "vda")).toJson())
                .isEqualTo("{\"type\":\"nbd\",\"id\":\"e\",\"node-name\":\"n\",\"name\":\"vda\"}");
    }

    @Test
    void migrationCapabilitiesAndFdNames() throws Exception {
        assertThat(args(MigrationCommands.MigrateSetCapabilities.of(
                new MigrationCommands.Capability("background-snapshot", true))).toJson())
                .isEqualTo("{\"capabilities\":[{\"capability\":\"background-snapshot\",\"state\":true}]}");
        assertThatThrownBy(() -> new FdCommands.Getfd("1abc")).hasMessageContaining("digit");
        assertThat(args(new FdCommands.AddFd(null, null)).members()).isEmpty();
    }

    @Test
    void bitmapBackupsCarryTheirBitmapModeAndPerfKnobs() throws Exception {
        var b = BlockCommands.BlockdevBackup.builder("j", "vda", "t", SyncMode.BITMAP)
                .bitmap("since-1", BlockCommands.BitmapSyncMode.ON_SUCCESS).filterNodeName("cbw").discardSource(false)
                .perf(new BlockCommands.BackupPerf(false, 8L, 1L << 20)).build();
        assertThat(args(b).toJson()).isEqualTo("{\"job-id\":\"j\",\"device\":\"vda\",\"target\":\"t\",\"sync\":"
                + "\"bitmap\",\"bitmap\":\"since-1\",\"bitmap-mode\":\"on-success\",\"filter-node-name\":\"cbw\","
                + "\"discard-source\":false,\"x-perf\":{\"use-copy-range\":false,\"max-workers\":8,"
                + "\"max-chunk\":1048576}}");
        var inc = BlockCommands.BlockdevBackup.builder(null, "vda", "t", SyncMode.INCREMENTAL).bitmap("b", null)
                .build();
        assertThat(args(inc).toJson()).isEqualTo("{\"device\":\"vda\",\"target\":\"t\",\"sync\":\"incremental\","
                + "\"bitmap\":\"b\"}");
        assertThatThrownBy(() -> BlockCommands.BlockdevBackup.builder("j", "vda", "t", SyncMode.BITMAP).build())
                .hasMessageContaining("needs a bitmap");
        assertThatThrownBy(() -> BlockCommands.BlockdevBackup.builder("j", "vda", "t", SyncMode.BITMAP)
                .bitmap("b", null).build()).hasMessageContaining("bitmap mode");
        assertThatThrownBy(() -> BlockCommands.BlockdevBackup.builder("j", "vda", "t", SyncMode.INCREMENTAL)
                .bitmap("b", BlockCommands.BitmapSyncMode.NEVER).build()).hasMessageContaining("no bitmap mode");
        assertThatThrownBy(() -> new BlockCommands.BackupPerf(null, 0L, null)).hasMessageContaining("max-workers");
    }

    @Test
    void everyBitmapCommandIsATransactionAction() throws Exception {
        var tx = new TransactionCommands.Transaction(List.of(
                new DirtyBitmapCommands.Add("vda", "b2", 65536L, true, false),
                new DirtyBitmapCommands.Disable("vda", "b1"), new DirtyBitmapCommands.Enable("vda", "b1"),
                new DirtyBitmapCommands.Clear("vda", "b1"), new DirtyBitmapCommands.Remove("vda", "b0"),
                BlockCommands.BlockdevBackup.builder("j", "vda", "t", SyncMode.BITMAP)
                        .bitmap("b1", BlockCommands.BitmapSyncMode.NEVER).build()));
        JsonObject a = args(tx);
        assertThat(a.require("actions").elements()).extracting(e -> e.require("type").asString()).containsExactly(
                "block-dirty-bitmap-add", "block-dirty-bitmap-disable", "block-dirty-bitmap-enable",
                "block-dirty-bitmap-clear", "block-dirty-bitmap-remove", "blockdev-backup");
        assertThat(a.require("actions").elements().get(0).require("data").toJson()).isEqualTo("{\"node\":\"vda\","
                + "\"name\":\"b2\",\"granularity\":65536,\"persistent\":true,\"disabled\":false}");
        assertThat(a.require("actions").elements().get(4).require("data").toJson())
                .isEqualTo("{\"node\":\"vda\",\"name\":\"b0\"}");
        assertThat(a.get("properties")).isNull();
    }

    @Test
    void dirtyBitmapInfoDecodesFromBothQueries() {
        // the shapes of QEMU 7.2's query-named-block-nodes and query-block ("inserted") for one node
        String node = "{\"node-name\":\"vda\",\"drv\":\"qcow2\",\"ro\":false,\"file\":\"/d/a.qcow2\","
                + "\"image\":{\"virtual-size\":4194304},\"dirty-bitmaps\":[{\"name\":\"b1\",\"recording\":true,"
                + "\"persistent\":true,\"busy\":false,\"granularity\":65536,\"count\":131072},{\"name\":\"old\","
                + "\"recording\":false,\"persistent\":true,\"busy\":false,\"granularity\":65536,\"count\":0,"
                + "\"inconsistent\":true}]}";
        var nodes = new QueryCommands.QueryNamedBlockNodes(true).decode(Json.parse("[" + node + "]"));
        var blocks = new QueryCommands.QueryBlock().decode(Json.parse("[{\"device\":\"hd0\",\"inserted\":"
                + node + "}]"));
        for (var info : List.of(nodes.get(0), blocks.get(0).inserted())) {
            assertThat(info.dirtyBitmaps()).containsExactly(
                    new QueryCommands.DirtyBitmapInfo("b1", 131072, 65536, true, false, true, false),
                    new QueryCommands.DirtyBitmapInfo("old", 0, 65536, false, false, true, true));
            assertThat(info.bitmap("b1")).map(QueryCommands.DirtyBitmapInfo::count).contains(131072L);
            assertThat(info.bitmap("nope")).isEmpty();
        }
    }

    @Test
    void queryMigrateTellsWhenRamPagesFlow() throws Exception {
        var q = new QueryCommands.QueryMigrate();
        var setup = q.decode(Json.parse("{\"status\":\"setup\"}"));
        assertThat(setup.ramPagesSent()).isFalse();
        assertThat(setup.inProgress()).isTrue();
        var active = q.decode(Json.parse("{\"status\":\"active\",\"ram\":{\"transferred\":4096,\"total\":"
                + "134217728,\"normal\":0,\"duplicate\":1}}"));
        assertThat(active.ramPagesSent()).isTrue();
        assertThat(active.ramDuplicatePages()).isEqualTo(1);
        assertThat(active.ramTotal()).isEqualTo(134217728);
        var none = q.decode(Json.parse("{}"));
        assertThat(none.statusOrNone()).isEqualTo("none");
        assertThat(none.inProgress()).isFalse();
        assertThat(q.decode(Json.parse("{\"status\":\"completed\"}")).inProgress()).isFalse();
        assertThat(args(new QueryCommands.QomGet("/machine", "type")).toJson())
                .isEqualTo("{\"path\":\"/machine\",\"property\":\"type\"}");
    }
}
