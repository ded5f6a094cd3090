package io.porin.service.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ClusterConfigTest {
  static ClusterConfig named(String name) {
    return new ClusterConfig() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public int id() {
        return 0;
      }
    };
  }

  @Test
  void theDefaultAndGoodNamesStart() {
    assertThat(ClusterConfig.checked(named("default"))).isEqualTo("default");
    assertThat(ClusterConfig.checked(named("us-east"))).isEqualTo("us-east");
  }

  @Test
  void aBadNameStopsStartUpNamingTheKeyAndTheValue() {
    assertThatThrownBy(() -> ClusterConfig.checked(named("US_East")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("porin.cluster.name: \"US_East\"");
    assertThatThrownBy(() -> ClusterConfig.checked(named("a".repeat(33))))
        .hasMessageContaining("33 characters long");
  }
}
