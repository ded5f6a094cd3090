package io.porin.core.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterPoolTest {
  private static final String L4 = "clusterPoolIPv4PodCIDRList";
  private static final String M4 = "clusterPoolIPv4MaskSize";

  @Test
  void severalPoolsAreUsedInOrder() {
    ClusterPool p =
        ClusterPool.of(Cidr.Family.IPV4, List.of("10.1.0.0/23", "10.9.0.0/22"), 24, L4, M4);
    assertThat(p.blockCount()).isEqualTo(BigInteger.valueOf(6));
    assertThat(p.block(BigInteger.ZERO).toString()).isEqualTo("10.1.0.0/24");
    assertThat(p.block(BigInteger.ONE).toString()).isEqualTo("10.1.1.0/24");
    assertThat(p.block(BigInteger.TWO).toString()).isEqualTo("10.9.0.0/24");
    assertThat(p.block(BigInteger.valueOf(5)).toString()).isEqualTo("10.9.3.0/24");
    for (int i = 0; i < 6; i++) {
      assertThat(p.indexOf(p.block(BigInteger.valueOf(i)))).contains(BigInteger.valueOf(i));
    }
    assertThat(p.indexOf(Cidr.parse("10.2.0.0/24"))).isEmpty();
    assertThat(p.indexOf(Cidr.parse("10.1.0.0/25"))).isEmpty();
    assertThatThrownBy(() -> p.block(BigInteger.valueOf(6)))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void poolsNotAlignedToTheNodeMaskSplitOnTheirOwnBoundaries() {
    // A /21 whose blocks are /24: 8 blocks starting at the pool's own network.
    ClusterPool p = ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.8.0/21"), 24, L4, M4);
    assertThat(p.blockCount()).isEqualTo(BigInteger.valueOf(8));
    assertThat(p.block(BigInteger.valueOf(7)).toString()).isEqualTo("10.0.15.0/24");
    // The defaults: 10.0.0.0/8 in /24s, fd00::/104 in /120s.
    assertThat(ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.0.0/8"), 24, L4, M4).blockCount())
        .isEqualTo(BigInteger.valueOf(65536));
    assertThat(
            ClusterPool.of(Cidr.Family.IPV6, List.of("fd00::/104"), 120, "v6", "m6").blockCount())
        .isEqualTo(BigInteger.valueOf(65536));
  }

  @Test
  void badSettingsAreNamed() {
    assertThatThrownBy(
            () ->
                ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.0.0/8", "10.3.0.0/16"), 24, L4, M4))
        .hasMessage(L4 + ": the pools 10.0.0.0/8 and 10.3.0.0/16 overlap");
    assertThatThrownBy(() -> ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.0.0/16"), 8, L4, M4))
        .hasMessageStartingWith(M4 + ": /8 is shorter than the pool 10.0.0.0/16");
    assertThatThrownBy(() -> ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.0/8"), 24, L4, M4))
        .hasMessageStartingWith(L4 + ": \"10.0.0/8\" is not a CIDR");
    assertThatThrownBy(() -> ClusterPool.of(Cidr.Family.IPV4, List.of("fd00::/104"), 24, L4, M4))
        .hasMessage(L4 + ": \"fd00::/104\" is not an ipv4 CIDR");
    assertThatThrownBy(() -> ClusterPool.of(Cidr.Family.IPV4, List.of(), 24, L4, M4))
        .hasMessage(L4 + ": the list is empty");
    assertThatThrownBy(() -> ClusterPool.of(Cidr.Family.IPV4, List.of("10.0.0.0/8"), 33, L4, M4))
        .hasMessage(M4 + ": 33 is outside 0..32");
  }
}
