package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Schema lookups through masked type names, arrays, unions and enums, on a hand-made schema. */
class QmpSchemaTest {
    private static final String SCHEMA = "["
            + "{\"name\":\"migrate-set-capabilities\",\"meta-type\":\"command\",\"arg-type\":\"1\",\"ret-type\":\"0\"},"
            + "{\"name\":\"1\",\"meta-type\":\"object\",\"members\":[{\"name\":\"capabilities\",\"type\":\"[2]\"}]},"
            + "{\"name\":\"[2]\",\"meta-type\":\"array\",\"element-type\":\"2\"},"
            + "{\"name\":\"2\",\"meta-type\":\"object\",\"members\":[{\"name\":\"capability\",\"type\":\"3\"},"
            + "{\"name\":\"state\",\"type\":\"bool\"}]},"
            + "{\"name\":\"3\",\"meta-type\":\"enum\",\"members\":[{\"name\":\"events\"}],\"values\":[\"events\"]},"
            + "{\"name\":\"blockdev-add\",\"meta-type\":\"command\",\"arg-type\":\"4\",\"ret-type\":\"0\"},"
            + "{\"name\":\"4\",\"meta-type\":\"object\",\"tag\":\"driver\",\"members\":[{\"name\":\"driver\","
            + "\"type\":\"5\"}],\"variants\":[{\"case\":\"nbd\",\"type\":\"6\"}]},"
            + "{\"name\":\"5\",\"meta-type\":\"enum\",\"members\":[{\"name\":\"nbd\"}]},"
            + "{\"name\":\"6\",\"meta-type\":\"object\",\"members\":[{\"name\":\"export\",\"type\":\"str\","
            + "\"default\":null}]},"
            + "{\"name\":\"STOP\",\"meta-type\":\"event\",\"arg-type\":\"0\"},"
            + "{\"name\":\"0\",\"meta-type\":\"object\",\"members\":[]}]";

    private final QmpSchema schema = new QmpSchema(new QmpVersion(5, 2, 0, ""), Json.parse(SCHEMA));

    @Test
    void findsCommandsEventsArgumentsAndEnumValues() {
        assertThat(schema.check(QmpRequirement.command("blockdev-add"), QmpRequirement.event("STOP"),
                QmpRequirement.migrationCapability("events"), QmpRequirement.blockdevDriver("nbd"),
                QmpRequirement.variantArgument("blockdev-add", "nbd", "export"),
                QmpRequirement.argument("blockdev-add", "export"))).isEmpty();
        assertThat(schema.hasCommand("STOP")).isFalse();
        assertThat(schema.hasEvent("STOP")).isTrue();
    }

    @Test
    void reportsMissingOnesByName() {
        assertThat(schema.check(QmpRequirement.migrationCapability("background-snapshot"),
                QmpRequirement.blockdevDriver("qcow2"), QmpRequirement.variantArgument("blockdev-add", "nbd",
                        "open-timeout"), QmpRequirement.argument("migrate-set-capabilities", "capabilities.nope"),
                QmpRequirement.enumValue("query-status", "x", "y")))
                .containsExactly("QEMU 5.2.0 has no migration capability background-snapshot",
                        "QEMU 5.2.0 has no block driver qcow2",
                        "QEMU 5.2.0 has no argument open-timeout of command blockdev-add nbd",
                        "QEMU 5.2.0 has no argument capabilities.nope of command migrate-set-capabilities",
                        "QEMU 5.2.0 has no value y for argument x of command query-status");
    }
}
