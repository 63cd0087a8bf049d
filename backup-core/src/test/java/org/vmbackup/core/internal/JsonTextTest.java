package org.vmbackup.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTextTest {
    @Test
    void writesNestedValuesWithEscapes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"b\\c\n\u0001");
        m.put("n", 5L);
        m.put("b", true);
        m.put("z", null);
        m.put("l", Arrays.asList(1, "x", List.of(), Map.of()));
        assertThat(JsonText.write(m)).isEqualTo("{\n  \"s\": \"a\\\"b\\\\c\\n\\u0001\",\n  \"n\": 5,\n"
                + "  \"b\": true,\n  \"z\": null,\n  \"l\": [\n    1,\n    \"x\",\n    [],\n    {}\n  ]\n}\n");
    }

    @Test
    void refusesWhatJsonCannotSay() {
        assertThatThrownBy(() -> JsonText.write(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JsonText.write(new Object())).hasMessageContaining("not a JSON value");
        assertThatThrownBy(() -> JsonText.write(Map.of(1, 2))).hasMessageContaining("keys must be strings");
    }
}
