package io.porin.agent.encrypt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.agent.datapath.Encryption;
import io.porin.core.ipam.Cidr;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/**
 * The node records (from etcd) made into WireGuard peers and the datapath's peer prefixes, applied
 * as differences and in an order that never blackholes: a peer is configured before its pods are
 * steered into the device, and unsteered before it goes; a node's new key replaces its old one in
 * the same device change. What this node found on the device and in the map when it started is kept
 * until the first full node list ({@link #reset}), then what no node claims goes.
 */
final class PeerSync {
  private static final Logger LOG = Logger.getLogger(PeerSync.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A node as a peer: its key, where it is, what may come from it, which pods go to it. */
  record NodePeer(String node, WireGuardDevice.Peer peer, Set<Cidr> podPrefixes) {}

  private final String self;
  private final int defaultPort;
  private final WireGuardDevice device;
  private final Encryption datapath;
  private final Map<String, NodePeer> desired = new TreeMap<>();

  /** Other nodes in the list, with or without a key (for "peers 2/3"). */
  private final Set<String> nodes = new HashSet<>();

  private Map<String, NodePeer> applied = new HashMap<>();
  private Set<String> strayKeys = new HashSet<>();
  private Set<Cidr> strayPrefixes = new HashSet<>();
  private boolean synced;

  PeerSync(String self, int defaultPort, WireGuardDevice device, Encryption datapath) {
    this.self = self;
    this.defaultPort = defaultPort;
    this.device = device;
    this.datapath = datapath;
  }

  /** What the device and the map hold from before (a restarted agent): removed after the sync. */
  synchronized void adopt(Set<String> deviceKeys, Set<Cidr> mapPrefixes) {
    strayKeys = new HashSet<>(deviceKeys);
    strayPrefixes = new HashSet<>(mapPrefixes);
  }

  /** The full node list (JSON records by node name). */
  synchronized void reset(Map<String, String> records) {
    desired.clear();
    nodes.clear();
    records.forEach(this::read);
    synced = true;
    apply();
  }

  synchronized void put(String name, String record) {
    read(name, record);
    apply();
  }

  synchronized void remove(String name) {
    desired.remove(name);
    nodes.remove(name);
    apply();
  }

  /** Everything again (a restarted wireguard-go comes back empty). */
  synchronized void reapply() {
    applied = new HashMap<>();
    strayKeys = new HashSet<>();
    apply();
  }

  synchronized Map<String, NodePeer> peers() {
    return Map.copyOf(applied);
  }

  /** The nodes other than this one that the node list holds. */
  synchronized int otherNodes() {
    return nodes.size();
  }

  synchronized boolean synced() {
    return synced;
  }

  /** The node whose key this is (empty when none). */
  synchronized String nodeOfKey(String publicKey) {
    for (NodePeer p : applied.values()) {
      if (p.peer().publicKey().equals(publicKey)) {
        return p.node();
      }
    }
    return "";
  }

  private void read(String name, String record) {
    if (name.equals(self)) {
      return;
    }
    nodes.add(name);
    try {
      NodePeer p = parse(name, record, defaultPort);
      if (p == null) {
        desired.remove(name);
      } else {
        desired.put(name, p);
      }
    } catch (IOException | RuntimeException e) {
      LOG.warnf("node %s: no WireGuard peer (%s)", name, e.getMessage());
      desired.remove(name);
    }
  }

  /** A node record's peer; null when the node publishes no key or no address. */
  static NodePeer parse(String name, String record, int defaultPort) throws IOException {
    JsonNode n = JSON.readTree(record);
    JsonNode wg = n.path("wireguard");
    String key = wg.path("publicKey").asText("");
    if (key.isEmpty()) {
      return null;
    }
    WireGuardKeys.parsePublic(key); // checked: a bad key is refused here, not by the device
    int port = wg.path("port").asInt(defaultPort);
    List<String> addresses = new ArrayList<>();
    n.path("addresses").forEach(a -> addresses.add(a.asText()));
    if (addresses.isEmpty()) {
      return null;
    }
    String via =
        addresses.stream().filter(a -> !a.contains(":")).findFirst().orElse(addresses.getFirst());
    Set<Cidr> pods = new LinkedHashSet<>();
    for (String field : List.of("ipv4Cidrs", "ipv6Cidrs")) {
      n.path(field).forEach(c -> pods.add(Cidr.parse(c.asText())));
    }
    List<Cidr> allowed = new ArrayList<>(pods);
    for (String a : addresses) {
      allowed.add(Cidr.parse(a.contains(":") ? a + "/128" : a + "/32"));
    }
    return new NodePeer(
        name,
        new WireGuardDevice.Peer(
            key, new InetSocketAddress(InetAddress.ofLiteral(via), port), allowed),
        pods);
  }

  private void apply() {
    if (!synced) {
      return; // nothing is removed before the node list is known; nothing added half-known
    }
    // 1. what goes: unsteered first
    Set<Cidr> wantPrefixes = new HashSet<>();
    desired.values().forEach(p -> wantPrefixes.addAll(p.podPrefixes()));
    Set<Cidr> havePrefixes = new HashSet<>(strayPrefixes);
    applied.values().forEach(p -> havePrefixes.addAll(p.podPrefixes()));
    for (Cidr c : havePrefixes) {
      if (!wantPrefixes.contains(c)) {
        datapath.deletePeerPrefix(c);
      }
    }
    // 2. the device: departed and re-keyed peers out, new and changed ones in, in one change
    Set<String> remove = new LinkedHashSet<>(strayKeys);
    List<WireGuardDevice.Peer> set = new ArrayList<>();
    Set<String> wantKeys = new HashSet<>();
    desired.values().forEach(p -> wantKeys.add(p.peer().publicKey()));
    for (NodePeer old : applied.values()) {
      if (!wantKeys.contains(old.peer().publicKey())) {
        remove.add(old.peer().publicKey());
      }
    }
    for (NodePeer p : desired.values()) {
      NodePeer old = applied.get(p.node());
      if (old == null || !Objects.equals(old.peer(), p.peer())) {
        set.add(p.peer());
      }
    }
    remove.removeAll(wantKeys);
    device.update(remove, set);
    if (!remove.isEmpty() || !set.isEmpty()) {
      LOG.infof(
          "WireGuard peers: %d set, %d removed (%d peers)",
          set.size(), remove.size(), desired.size());
    }
    // 3. then steer the pods of the peers in
    Set<Cidr> add = new HashSet<>(wantPrefixes);
    add.removeAll(havePrefixes);
    datapath.putPeerPrefixes(add);
    applied = new HashMap<>(desired);
    strayKeys = new HashSet<>();
    strayPrefixes = new HashSet<>();
  }
}
