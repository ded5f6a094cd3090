package io.porin.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void unitsAndCombinations() {
    assertThat(Durations.parse("--t", "500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("--t", "30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("--t", "2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("--t", "1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("--t", "1d")).isEqualTo(Duration.ofDays(1));
    assertThat(Durations.parse("--t", "1m30s")).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void badValuesNameTheFlag() {
    for (String bad : new String[] {"", "30", "s", "30x", "1m 30s", "-5s", "5s!"}) {
      assertThatThrownBy(() -> Durations.parse("--timeout", bad))
          .hasMessageStartingWith("--timeout: \"" + bad + "\" is not a duration");
    }
  }
}
