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
}
