package io.porin.core.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.core.labels.LabelSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NumericIdentityTest {

  @ParameterizedTest(name = "cluster {0} n {1} = {2}")
  @CsvSource({"1,256,65792", "1,65535,131071", "2,256,131328", "255,65535,16777215"})
  void clusterScopedLayout(int clusterId, int n, int expected) {
    NumericIdentity id = NumericIdentity.ofCluster(clusterId, n);
    assertThat(id.value()).isEqualTo(expected);
    assertThat(id.clusterId()).isEqualTo(clusterId);
    assertThat(id.isClusterScoped()).isTrue();
    assertThat(id.isReserved()).isFalse();
    assertThat(id.isLocal()).isFalse();
  }

  @Test
  void reservedIdentitiesMatchCilium() {
    assertThat(
            List.of(ReservedIdentity.values()).stream()
                .map(r -> r.id().value() + "=" + r.labelName())
                .toList())
        .containsExactly(
            "1=host",
            "2=world",
            "3=unmanaged",
            "4=health",
            "5=init",
            "6=remote-node",
            "7=kube-apiserver",
            "8=ingress",
            "9=world-ipv4",
            "10=world-ipv6");
    for (ReservedIdentity r : ReservedIdentity.values()) {
      assertThat(r.id().isReserved()).isTrue();
      assertThat(r.id().clusterId()).isZero();
      assertThat(ReservedIdentity.of(r.labels())).contains(r);
      assertThat(r.id().reserved()).contains(r);
    }
    assertThat(ReservedIdentity.of(LabelSet.parse(List.of("reserved:nope")))).isEmpty();
  }

  @Test
  void localScopeIsBit24() {
    NumericIdentity cidr = new NumericIdentity(NumericIdentity.LOCAL_SCOPE | 1);
    assertThat(cidr.value()).isEqualTo(16777217);
    assertThat(cidr.isLocal()).isTrue();
    assertThat(cidr.isClusterScoped()).isFalse();
    assertThat(cidr.clusterId()).isZero();
  }

  @Test
  void outOfRangeIsNamed() {
    assertThatThrownBy(() -> NumericIdentity.ofCluster(0, 300))
        .hasMessageContaining("cluster ID 0 is outside 1..255");
    assertThatThrownBy(() -> NumericIdentity.ofCluster(256, 300))
        .hasMessageContaining("cluster ID 256");
    assertThatThrownBy(() -> NumericIdentity.ofCluster(1, 255))
        .hasMessageContaining("identity number 255 is outside 256..65535");
    assertThatThrownBy(() -> NumericIdentity.parse("abc")).hasMessageContaining("\"abc\"");
    assertThatThrownBy(() -> NumericIdentity.parse("-1")).hasMessageContaining("out of range");
    assertThat(NumericIdentity.parse("65792")).isEqualTo(NumericIdentity.ofCluster(1, 256));
  }

  @Test
  void rangePicksEveryFreeNumberOnceThenReportsExhaustion() {
    AllocationRange range = new AllocationRange(3);
    assertThat(range.size()).isEqualTo(65280);
    assertThat(range.min().value()).isEqualTo(3 << 16 | 256);
    Set<Integer> used = new HashSet<>();
    Random random = new Random(1);
    for (int i = 0; i < range.size(); i++) {
      NumericIdentity id = range.pickFree(used::contains, random).orElseThrow();
      assertThat(range.contains(id)).isTrue();
      assertThat(used.add(id.value())).isTrue();
    }
    assertThat(range.pickFree(used::contains, random)).isEmpty();
  }
}
