package io.porin.core.resource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonReaderTest {
  @Test
  void readsWhatJsonWritesBackToTheSameTree() {
    Object tree =
        Map.of(
            "s", "a \"quoted\" \\ line\nnext \u00e9",
            "n", List.of(1L, -2L, 3.5),
            "b", List.of(true, false),
            "o", Map.of("empty", List.of(), "nothing", Map.of()));
    String json = Json.write(tree);
    assertThat(JsonReader.read(json)).isEqualTo(tree);
    assertThat(JsonReader.read(" {\"a\" : [ null ] } "))
        .isEqualTo(
            java.util.Collections.singletonMap("a", java.util.Collections.singletonList(null)));
  }

  @Test
  void refusesWhatIsNotJsonNamingWhere() {
    for (String bad :
        List.of(
            "",
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\":1,\"a\":2}",
            "\"open",
            "tru",
            "1 2",
            "{a:1}",
            "[01x]")) {
      assertThatThrownBy(() -> JsonReader.read(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not JSON at character");
    }
  }
}
