package io.porin.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MaglevTest {
  private static List<String> backends(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> "10.0." + (i / 250) + "." + (i % 250 + 1) + ":80")
        .toList();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 7, 10, 100, 1000})
  void everyBackendGetsItsShareWithinOnePercent(int n) {
    int[] table = Maglev.table(backends(n), Maglev.DEFAULT_TABLE_SIZE);
    int[] counts = new int[n];
    for (int slot : table) {
      counts[slot]++;
    }
    double ideal = (double) Maglev.DEFAULT_TABLE_SIZE / n;
    for (int c : counts) {
      // Maglev's filling makes shares differ by at most one slot
      assertThat(Math.abs(c - ideal)).isLessThanOrEqualTo(Math.max(1.0, ideal * 0.01));
    }
  }

  @Test
  void theTableDependsOnTheBackendsNotTheirOrder() {
    List<String> b = backends(10);
    List<String> reversed = new ArrayList<>(b).reversed();
    int[] t1 = Maglev.table(b, 16381);
    int[] t2 = Maglev.table(reversed, 16381);
    for (int i = 0; i < t1.length; i++) {
      assertThat(b.get(t1[i])).isEqualTo(reversed.get(t2[i]));
    }
  }

  @Test
  void removingABackendMovesFewOtherSlots() {
    List<String> b = backends(10);
    int[] before = Maglev.table(b, 16381);
    List<String> fewer = new ArrayList<>(b);
    fewer.remove(3);
    int[] after = Maglev.table(fewer, 16381);
    int moved = 0;
    for (int i = 0; i < before.length; i++) {
      String was = b.get(before[i]);
      if (!was.equals(b.get(3)) && !was.equals(fewer.get(after[i]))) {
        moved++;
      }
    }
    // the removed backend's ~10% must move; of the others' slots only a few may
    assertThat(moved).isLessThan(16381 / 20);
  }

  @Test
  void tooManyBackendsAreRefused() {
    assertThatThrownBy(() -> Maglev.table(backends(7), 7))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("7 backends");
    assertThat(Maglev.table(List.of(), 7)).isEmpty();
  }
}
