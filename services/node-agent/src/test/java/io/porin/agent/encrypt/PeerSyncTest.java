package io.porin.agent.encrypt;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.Encryption;
import io.porin.core.ipam.Cidr;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
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
  private final Map<Cidr, Boolean> map = new HashMap<>();

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
        public void putPrefixes(Map<Cidr, Boolean> prefixes) {
          if (!prefixes.isEmpty()) {
            map.putAll(prefixes);
            log.add(
                "map +"
                    + prefixes.entrySet().stream()
                        .map(e -> e.getKey() + (e.getValue() ? "=peer" : "=known"))
                        .sorted()
                        .toList());
          }
        }

        @Override
        public boolean deletePrefix(Cidr prefix) {
          log.add("map -" + prefix);
          return map.remove(prefix) != null;
        }

        @Override
        public Map<Cidr, Boolean> prefixes() {
          return Map.copyOf(map);
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
    return new PeerSync(
        "n0",
        51871,
        List.of(
            Cidr.parse("10.200.0.0/24"),
            Cidr.parse("fd00:200:1::/120"),
            Cidr.parse("172.30.1.10/32")),
        device,
        datapath);
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
        .containsExactly(
            "device -[] +[k1]",
            "map +[10.200.1.0/24=peer, 10.200.2.0/24=known, fd00:200:1::100/120=peer,"
                + " fd00:200:1::200/120=known]");
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
  void connectedClustersNodesArePeersWhenTheirClusterHasKeysAndGoWithTheDisconnect() {
    PeerSync s = sync();
    s.reset(Map.of("n1", record("n1", 1, K1)));
    log.clear();
    s.setRemote(
        List.of(
            new io.porin.core.mesh.MeshImports.RemoteNode(
                "west",
                "west-node1",
                List.of("172.30.2.11"),
                List.of(Cidr.parse("10.201.1.0/24")),
                K2.publicBase64(),
                0),
            new io.porin.core.mesh.MeshImports.RemoteNode(
                "west",
                "west-node2",
                List.of("172.30.2.12"),
                List.of(Cidr.parse("10.201.2.0/24")),
                "",
                0)));
    WireGuardDevice.Peer p = devicePeers.get(K2.publicBase64());
    assertThat(p.endpoint().toString()).isEqualTo("/172.30.2.11:51871");
    assertThat(p.allowedIps())
        .extracting(Cidr::toString)
        .containsExactly("10.201.1.0/24", "172.30.2.11/32");
    // the keyless node's pods are known (strict mode drops what would go there in clear)
    assertThat(map).containsEntry(Cidr.parse("10.201.1.0/24"), true);
    assertThat(map).containsEntry(Cidr.parse("10.201.2.0/24"), false);
    assertThat(s.nodeOfKey(K2.publicBase64())).isEqualTo("west/west-node1");
    // this cluster's own node is untouched
    assertThat(devicePeers).containsKey(K1.publicBase64());
    s.setRemote(List.of());
    assertThat(devicePeers).containsOnlyKeys(K1.publicBase64());
    assertThat(map).doesNotContainKeys(Cidr.parse("10.201.1.0/24"), Cidr.parse("10.201.2.0/24"));
  }

  @Test
  void aNodeLeavingIsUnsteeredBeforeItsPeerGoes() {
    PeerSync s = sync();
    s.reset(Map.of("n1", record("n1", 1, K1), "n2", record("n2", 2, K2)));
    log.clear();
    s.remove("n1");
    assertThat(log).hasSize(3).endsWith("device -[k1] +[]");
    assertThat(log.subList(0, 2))
        .containsExactlyInAnyOrder("map -10.200.1.0/24", "map -fd00:200:1::100/120");
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
    // still known as node n1's pods (strict mode drops what would go there in clear), no peer
    assertThat(log).hasSize(3).endsWith("device -[k1] +[]");
    assertThat(log.subList(0, 2))
        .containsExactlyInAnyOrder(
            "map +[10.200.1.0/24=known]", "map +[fd00:200:1::100/120=known]");
    assertThat(s.otherNodes()).isEqualTo(1);
    assertThat(s.peers()).isEmpty();
  }

  @Test
  void whatARestartedAgentFindsStaysUntilTheNodeListIsKnown() {
    PeerSync s = sync();
    map.put(Cidr.parse("10.200.1.0/24"), true);
    map.put(Cidr.parse("10.200.7.0/24"), true);
    devicePeers.put(K1.publicBase64(), null);
    devicePeers.put(K2.publicBase64(), null);
    s.adopt(Set.of(K1.publicBase64(), K2.publicBase64()), Map.copyOf(map));
    s.put("n1", record("n1", 1, K1)); // an event before the list: nothing happens yet
    assertThat(log).isEmpty();
    s.reset(Map.of("n1", record("n1", 1, K1)));
    // n2 (k2) and 10.200.7.0/24 are gone from the cluster: removed; n1 kept and completed
    assertThat(log)
        .containsExactly(
            "map -10.200.7.0/24",
            "device -[] +[k1]",
            "device -[k2] +[]",
            "map +[fd00:200:1::100/120=peer]");
    assertThat(map.keySet())
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
    assertThat(s.otherNodes()).as("n8 (no address); n9 unreadable").isEqualTo(1);
  }

  @Test
  void aNodeCannotClaimTheWorldThisNodesPodsOrAnotherNodesPods() {
    PeerSync s = sync();
    s.reset(Map.of("n1", record("n1", 1, K1)));
    log.clear();
    String greedy =
        """
        {"name": "n2", "addresses": ["172.30.1.12", "172.30.1.11"],
         "ipv4Cidrs": ["0.0.0.0/0", "10.200.0.0/24", "10.200.1.0/25", "10.200.2.0/24"],
         "ipv6Cidrs": ["::/0"],
         "wireguard": {"publicKey": "%s"}}
        """
            .formatted(K2.publicBase64());
    s.put("n2", greedy);
    WireGuardDevice.Peer p = devicePeers.get(K2.publicBase64());
    assertThat(p.allowedIps())
        .extracting(Cidr::toString)
        .as("its own pods and its own address only")
        .containsExactly("10.200.2.0/24", "172.30.1.12/32");
    assertThat(devicePeers.get(K1.publicBase64()).allowedIps())
        .extracting(Cidr::toString)
        .contains("10.200.1.0/24", "172.30.1.11/32");
    assertThat(map)
        .containsOnlyKeys(
            Cidr.parse("10.200.1.0/24"),
            Cidr.parse("fd00:200:1::100/120"),
            Cidr.parse("10.200.2.0/24"));
    // an unreadable record later keeps what was known
    log.clear();
    s.put("n2", "{not json");
    assertThat(log).isEmpty();
    assertThat(s.peers()).containsOnlyKeys("n1", "n2");
  }
}
