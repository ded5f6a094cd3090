package io.porin.core.ipam;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PodIpAllocatorTest {

  /** A store that keeps what it is given, as a file would across a restart. */
  static final class MapStore implements PodIpAllocator.Store {
    final Map<String, BigInteger> saved = new HashMap<>();

    @Override
    public Map<String, BigInteger> load() {
      return new HashMap<>(saved);
    }

    @Override
    public void save(String owner, BigInteger address) {
      saved.put(owner, address);
    }

    @Override
    public void delete(String owner) {
      saved.remove(owner);
    }
  }

  private static String ip(Cidr c, BigInteger a) {
    return Cidr.format(c.family(), a);
  }

  @Test
  void ipv4SkipsNetworkGatewayAndBroadcastAndReportsExhaustion() {
    Cidr c = Cidr.parse("10.0.5.0/29");
    PodIpAllocator a = new PodIpAllocator(c, new MapStore());
    assertThat(ip(c, a.gateway())).isEqualTo("10.0.5.1");
    assertThat(a.capacity()).isEqualTo(BigInteger.valueOf(5));
    Set<String> got = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      got.add(ip(c, a.allocate("c" + i)));
    }
    assertThat(got)
        .containsExactlyInAnyOrder("10.0.5.2", "10.0.5.3", "10.0.5.4", "10.0.5.5", "10.0.5.6");
    assertThatThrownBy(() -> a.allocate("c5"))
        .isInstanceOf(PodIpAllocator.ExhaustedException.class)
        .hasMessage("no free pod IP in 10.0.5.0/29: 5 addresses are allocated");
  }

  @Test
  void ipv6HasNoBroadcastToSkip() {
    Cidr c = Cidr.parse("fd00::/126");
    PodIpAllocator a = new PodIpAllocator(c, new MapStore());
    assertThat(ip(c, a.allocate("x"))).isEqualTo("fd00::2");
    assertThat(ip(c, a.allocate("y"))).isEqualTo("fd00::3");
    assertThatThrownBy(() -> a.allocate("z")).isInstanceOf(PodIpAllocator.ExhaustedException.class);
  }

  @Test
  void sameOwnerSameAddressAndReleaseFreesIt() {
    Cidr c = Cidr.parse("10.0.0.0/30");
    PodIpAllocator a = new PodIpAllocator(c, new MapStore());
    BigInteger first = a.allocate("container-1");
    assertThat(a.allocate("container-1")).isEqualTo(first);
    assertThat(a.usedCount()).isEqualTo(1);
    assertThatThrownBy(() -> a.allocate("container-2"))
        .isInstanceOf(PodIpAllocator.ExhaustedException.class);
    assertThat(a.release("container-1")).isTrue();
    assertThat(a.release("container-1")).isFalse();
    assertThat(a.allocate("container-2")).isEqualTo(first);
  }

  @Test
  void aRestartRestoresFromTheStore() {
    Cidr c = Cidr.parse("10.0.0.0/24");
    MapStore store = new MapStore();
    PodIpAllocator a = new PodIpAllocator(c, store);
    BigInteger x = a.allocate("x");
    BigInteger y = a.allocate("y");
    a.release("x");
    store.save("stale", Cidr.parse("10.9.9.9/32").network()); // not in this CIDR: dropped
    PodIpAllocator again = new PodIpAllocator(c, store);
    assertThat(again.addressOf("y")).contains(y);
    assertThat(again.addressOf("x")).isEmpty();
    assertThat(again.usedCount()).isEqualTo(1);
    assertThat(store.saved).doesNotContainKey("stale");
    assertThat(again.allocate("z")).isNotEqualTo(y);
    assertThat(x).isNotNull();
  }

  @Test
  void tinyBlocksAreRefused() {
    assertThatThrownBy(() -> new PodIpAllocator(Cidr.parse("10.0.0.0/31"), new MapStore()))
        .hasMessageContaining("10.0.0.0/31 is too small");
  }
}
