package io.porin.agent.encrypt;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.Encryption;
import io.porin.core.ipam.Cidr;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Node records to peers: one per other node with a key, in an order that never sends a pod's packet
 * into the device without a peer for it, a new key replacing the old in one change, and nothing
 * removed before the node list is known.
 */
class PeerSyncTest {
  private static final WireGuardKeys K1 = WireGuardKeys.generate();
  private static final WireGuardKeys K2 = WireGuardKeys.generate();
  private static final WireGuardKeys K2B = WireGuardKeys.generate();

  /** Every call to the device and the map, in order. */
  private final List<String> log = new ArrayList<>();

  private final Map<String, WireGuardDevice.Peer> devicePeers = new HashMap<>();
  private final Set<Cidr> map = new LinkedHashSet<>();

  private final WireGuardDevice device =
      new WireGuardDevice() {
        @Override
        public String mode() {
          return "test";
        }

        @Override
        public String name() {
          return "porin_wg0";
        }

        @Override
        public int ifindex() {
          return 42;
        }

        @Override
        public void configure(WireGuardKeys keys, int listenPort) {}

        @Override
        public void update(Collection<String> remove, Collection<Peer> set) {
          if (remove.isEmpty() && set.isEmpty()) {
            return;
          }
          remove.forEach(devicePeers::remove);
          set.forEach(p -> devicePeers.put(p.publicKey(), p));
          log.add(
              "device -"
                  + remove.stream().map(PeerSyncTest::name).toList()
                  + " +"
                  + set.stream().map(p -> PeerSyncTest.name(p.publicKey())).toList());
        }

        @Override
        public Status status() {
          return new Status("", 51871, List.of());
        }

        @Override
        public void destroy() {}

        @Override
        public void close() {}
      };

  private final Encryption datapath =
      new Encryption() {
        @Override
        public void setMode(int wgIfindex, boolean on, boolean strict) {}

        @Override
        public void putPeerPrefixes(Collection<Cidr> prefixes) {
          if (!prefixes.isEmpty()) {
            map.addAll(prefixes);
            log.add("map +" + prefixes.stream().map(Cidr::toString).sorted().toList());
          }
        }

        @Override
        public boolean deletePeerPrefix(Cidr prefix) {
          log.add("map -" + prefix);
          return map.remove(prefix);
        }

        @Override
        public Set<Cidr> peerPrefixes() {
          return Set.copyOf(map);
        }
      };

  private static String name(String key) {
    if (key.equals(K1.publicBase64())) {
      return "k1";
    }
    if (key.equals(K2.publicBase64())) {
      return "k2";
    }
    return key.equals(K2B.publicBase64()) ? "k2b" : "other";
  }

  private static String record(String name, int i, WireGuardKeys key) {
    return """
        {"name": "%s", "addresses": ["172.30.1.%d", "fd00:ac1e:1::%d"],
         "ipv4Cidrs": ["10.200.%d.0/24"], "ipv6Cidrs": ["fd00:200:1::%d00/120"],
         "gateway4": "10.200.%d.1"%s}
        """
        .formatted(
            name,
            10 + i,
            10 + i,
            i,
            i,
            i,
            key == null
                ? ""
                : ", \"wireguard\": {\"publicKey\": \""
                    + key.publicBase64()
                    + "\", \"port\": 51871}");
  }

  private PeerSync sync() {
    return new PeerSync("n0", 51871, device, datapath);
  }

  @Test
  void onePeerPerOtherNodeWithAKeyConfiguredBeforeItsPodsAreSteered() {
    PeerSync s = sync();
    s.reset(
        Map.of(
            "n0", record("n0", 0, WireGuardKeys.generate()),
            "n1", record("n1", 1, K1),
            "n2", record("n2", 2, null)));
    assertThat(log)
        .containsExactly("device -[] +[k1]", "map +[10.200.1.0/24, fd00:200:1::100/120]");
    WireGuardDevice.Peer p = devicePeers.get(K1.publicBase64());
    assertThat(p.endpoint().toString()).isEqualTo("/172.30.1.11:51871");
    assertThat(p.allowedIps())
        .extracting(Cidr::toString)
        .containsExactly(
            "10.200.1.0/24", "fd00:200:1::100/120", "172.30.1.11/32", "fd00:ac1e:1::11/128");
    assertThat(s.otherNodes()).isEqualTo(2);
    assertThat(s.peers()).containsOnlyKeys("n1");
  }

  @Test
  void aNodeLeavingIsUnsteeredBeforeItsPeerGoes() {
    PeerSync s = sync();
    s.reset(Map.of("n1", record("n1", 1, K1), "n2", record("n2", 2, K2)));
    log.clear();
    s.remove("n1");
    assertThat(log)
        .containsExactly("map -10.200.1.0/24", "map -fd00:200:1::100/120", "device -[k1] +[]");
    assertThat(devicePeers).containsOnlyKeys(K2.publicBase64());
  }

  @Test
  void aNewKeyReplacesTheOldInOneChangeAndThePodsStaySteered() {
    PeerSync s = sync();
    s.reset(Map.of("n2", record("n2", 2, K2)));
    log.clear();
    s.put("n2", record("n2", 2, K2B));
    assertThat(log).containsExactly("device -[k2] +[k2b]");
    assertThat(map).hasSize(2);
    assertThat(s.nodeOfKey(K2B.publicBase64())).isEqualTo("n2");
    // the same record again changes nothing
    log.clear();
    s.put("n2", record("n2", 2, K2B));
    assertThat(log).isEmpty();
  }

  @Test
  void aNodeThatLosesItsKeyLosesItsPeer() {
    PeerSync s = sync();
    s.reset(Map.of("n1", record("n1", 1, K1)));
    log.clear();
    s.put("n1", record("n1", 1, null));
    assertThat(log)
        .containsExactly("map -10.200.1.0/24", "map -fd00:200:1::100/120", "device -[k1] +[]");
    assertThat(s.otherNodes()).isEqualTo(1);
    assertThat(s.peers()).isEmpty();
  }

  @Test
  void whatARestartedAgentFindsStaysUntilTheNodeListIsKnown() {
    PeerSync s = sync();
    map.addAll(List.of(Cidr.parse("10.200.1.0/24"), Cidr.parse("10.200.7.0/24")));
    devicePeers.put(K1.publicBase64(), null);
    devicePeers.put(K2.publicBase64(), null);
    s.adopt(Set.of(K1.publicBase64(), K2.publicBase64()), Set.copyOf(map));
    s.put("n1", record("n1", 1, K1)); // an event before the list: nothing happens yet
    assertThat(log).isEmpty();
    s.reset(Map.of("n1", record("n1", 1, K1)));
    // n2 (k2) and 10.200.7.0/24 are gone from the cluster: removed; n1 kept and completed
    assertThat(log)
        .containsExactly("map -10.200.7.0/24", "device -[k2] +[k1]", "map +[fd00:200:1::100/120]");
    assertThat(map)
        .extracting(Cidr::toString)
        .containsExactlyInAnyOrder("10.200.1.0/24", "fd00:200:1::100/120");
  }

  @Test
  void aRecordWithABadKeyOrNoAddressMakesNoPeer() throws Exception {
    PeerSync s = sync();
    s.reset(
        Map.of(
            "n8",
            "{\"name\":\"n8\",\"wireguard\":{\"publicKey\":\"" + K1.publicBase64() + "\"}}",
            "n9",
            "{\"name\":\"n9\",\"addresses\":[\"172.30.1.19\"],"
                + "\"wireguard\":{\"publicKey\":\"AAAA\"}}"));
    assertThat(log).isEmpty();
    assertThat(s.peers()).isEmpty();
    assertThat(s.otherNodes()).isEqualTo(2);
  }
}
