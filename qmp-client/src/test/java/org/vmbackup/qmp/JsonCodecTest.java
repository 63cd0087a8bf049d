package org.vmbackup.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonCodecTest {
    @Test
    void parsesAndWritesEveryValueType() {
        String text = "{\"s\":\"a\\\"b\",\"n\":-5,\"f\":1.5,\"t\":true,\"x\":false,\"z\":null,\"a\":[1,{\"k\":[]}]}";
        Json v = Json.parse(text);
        assertThat(v.get("s").asString()).isEqualTo("a\"b");
        assertThat(v.get("n").asLong()).isEqualTo(-5);
        assertThat(v.get("f").asDouble()).isEqualTo(1.5);
        assertThat(v.get("t").asBoolean()).isTrue();
        assertThat(v.get("x").asBoolean()).isFalse();
        assertThat(v.get("z").isNull()).isTrue();
        assertThat(v.opt("z")).isEmpty();
        assertThat(v.get("missing")).isNull();
        assertThat(v.get("a").elements().get(1).get("k").elements()).isEmpty();
        assertThat(v.toJson()).isEqualTo(text);
        assertThat(Json.parse(v.toPrettyJson())).isEqualTo(v);
    }

    @Test
    void objectsKeepMemberOrderAndAreImmutable() {
        JsonObject o = JsonObject.builder().put("b", 1L).put("a", "x").put("skipped", (String) null).build();
        assertThat(o.members().keySet()).containsExactly("b", "a");
        assertThatThrownBy(() -> o.members().put("c", JsonNull.INSTANCE))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(JsonArray.ofStrings(List.of("p", "q")).toJson()).isEqualTo("[\"p\",\"q\"]");
    }

    @Test
    void uint64AboveLongRangeIsKeptExactly() {
        Json n = Json.parse("18446744073709551615");
        assertThat(((JsonNumber) n).asBigInteger()).isEqualTo(new BigInteger("18446744073709551615"));
        assertThatThrownBy(n::asLong).isInstanceOf(QmpProtocolException.class).hasMessageContaining("64-bit");
        assertThat(n.toJson()).isEqualTo("18446744073709551615");
    }

    @Test
    void typeMismatchesNameWhatWasExpected() {
        Json v = Json.parse("{\"status\": 5}");
        assertThatThrownBy(() -> v.get("status").asString()).isInstanceOf(QmpProtocolException.class)
                .hasMessage("expected a string but got number 5");
        assertThatThrownBy(() -> v.require("running")).hasMessageContaining("missing member 'running'");
        assertThatThrownBy(() -> Json.of("x").get("y")).hasMessageContaining("expected an object");
    }

    @Test
    void malformedOrTrailingInputIsAProtocolError() {
        assertThatThrownBy(() -> Json.parse("{\"a\": }")).isInstanceOf(QmpProtocolException.class)
                .hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> Json.parse("{} {}")).isInstanceOf(QmpProtocolException.class)
                .hasMessageContaining("trailing content");
        assertThatThrownBy(() -> Json.parse("  ")).isInstanceOf(QmpProtocolException.class);
        assertThatThrownBy(() -> Json.parse("[".repeat(5000) + "]".repeat(5000)))
                .isInstanceOf(QmpProtocolException.class).hasMessageContaining("malformed JSON");
    }
}
