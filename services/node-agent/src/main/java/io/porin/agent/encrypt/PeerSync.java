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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/**
 * The node records (from etcd) made into WireGuard peers and the datapath's prefixes, applied as
 * differences and in an order that never blackholes: a peer is configured before its pods are
 * steered into the device, and unsteered before it goes; a node's new key replaces its old one in
 * the same device change. Every other node's pod prefixes are in the datapath, with or without a
 * peer, so that strict mode knows them whatever the ipcache knows.
 *
 * <p>A record is checked before it is believed: pod prefixes that are too wide, overlap this node's
 * own, or overlap another node's already accepted ones are refused (and logged), as are more than
 * {@value #MAX_PREFIXES} of them and ports outside 1..65535; a record that cannot be read keeps the
 * node's last good peer. One peer that the device refuses does not hold back the others.
 *
 * <p>What this node found on the device and in the map when it started is kept until the first full
 * node list ({@link #reset}), then what no node claims goes.
 */
final class PeerSync {
  private static final Logger LOG = Logger.getLogger(PeerSync.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int MAX_PREFIXES = 16;

  /** The widest pod prefix a node may claim, per family. */
  static final int MIN_PREFIX_V4 = 8;

  static final int MIN_PREFIX_V6 = 16;

  /** A node as the datapath and the device see it: its pods, and its peer (null: no key). */
  record NodePeer(String node, WireGuardDevice.Peer peer, Set<Cidr> podPrefixes) {}

  private final String self;
  private final int defaultPort;
  private final List<Cidr> own;
  private final WireGuardDevice device;
  private final Encryption datapath;

  /** The last good record of each other node, read. */
  private final Map<String, Node> records = new TreeMap<>();

  /**
   * Connected clusters' nodes, as {@code <cluster>/<node>} (checked by the agent's mesh watch:
   * their pod CIDRs lie in their cluster's, which do not overlap this cluster's).
   */
  private final Map<String, Node> remote = new TreeMap<>();

  private Map<String, NodePeer> applied = new HashMap<>();
  private Map<Cidr, Boolean> appliedPrefixes = new HashMap<>();
  private Set<String> strayKeys = new HashSet<>();
  private boolean synced;

  /** A node record as read (before its prefixes are checked against the others'). */
  record Node(String name, String key, int port, List<String> addresses, List<Cidr> pods) {}

  /**
   * @param own this node's pod prefixes and addresses: no other node may claim them
   */
  PeerSync(
      String self, int defaultPort, List<Cidr> own, WireGuardDevice device, Encryption datapath) {
    this.self = self;
    this.defaultPort = defaultPort;
    this.own = List.copyOf(own);
    this.device = device;
    this.datapath = datapath;
  }

  /** What the device and the map hold from before (a restarted agent): removed after the sync. */
  synchronized void adopt(Set<String> deviceKeys, Map<Cidr, Boolean> mapPrefixes) {
    strayKeys = new HashSet<>(deviceKeys);
    appliedPrefixes = new HashMap<>(mapPrefixes);
  }

  /** The full node list (JSON records by node name). */
  synchronized void reset(Map<String, String> list) {
    Map<String, Node> previous = new HashMap<>(records);
    records.clear();
    list.forEach(
        (name, json) -> {
          if (!name.equals(self)) {
            Node n = read(name, json);
            if (n == null && previous.containsKey(name)) {
              n = previous.get(name); // unreadable: the last good record stands
            }
            if (n != null) {
              records.put(name, n);
            }
          }
        });
    synced = true;
    apply();
  }

  synchronized void put(String name, String json) {
    if (name.equals(self)) {
      return;
    }
    Node n = read(name, json);
    if (n != null) {
      records.put(name, n);
    }
    apply();
  }

  synchronized void remove(String name) {
    records.remove(name);
    apply();
  }

  /**
   * Replaces the nodes of connected clusters: each with a WireGuard key becomes a peer like this
   * cluster's nodes (its pods steered into the device); one without (its cluster has no encryption)
   * stays in clear, or is dropped in strict mode.
   */
  synchronized void setRemote(List<io.porin.core.mesh.MeshImports.RemoteNode> nodes) {
    remote.clear();
    for (var n : nodes) {
      String name = n.cluster() + "/" + n.name();
      String key = n.publicKey().isEmpty() ? null : n.publicKey();
      if (key != null) {
        try {
          WireGuardKeys.parsePublic(key);
        } catch (RuntimeException e) {
          LOG.warnf("node %s: not a WireGuard public key (%s): no peer", name, e.getMessage());
          key = null;
        }
      }
      List<String> addresses = new ArrayList<>();
      n.addresses().forEach(a -> addresses.add(InetAddress.ofLiteral(a).getHostAddress()));
      int port = n.wireguardPort() == 0 ? defaultPort : n.wireguardPort();
      remote.put(name, new Node(name, key, port, addresses, n.podCidrs()));
    }
    apply();
  }

  /** Everything again (a restarted wireguard-go comes back empty). */
  synchronized void reapply() {
    applied = new HashMap<>();
    strayKeys = new HashSet<>();
    apply();
  }

  synchronized Map<String, NodePeer> peers() {
    Map<String, NodePeer> out = new HashMap<>();
    applied.forEach(
        (k, v) -> {
          if (v.peer() != null) {
            out.put(k, v);
          }
        });
    return out;
  }

  /** The nodes other than this one that the node list holds, and connected clusters' nodes. */
  synchronized int otherNodes() {
    return records.size() + remote.size();
  }

  synchronized boolean synced() {
    return synced;
  }

  /** The node whose key this is (empty when none). */
  synchronized String nodeOfKey(String publicKey) {
    for (NodePeer p : applied.values()) {
      if (p.peer() != null && p.peer().publicKey().equals(publicKey)) {
        return p.node();
      }
    }
    return "";
  }

  /** A record, read and checked on its own; null (logged) when it cannot be believed at all. */
  private Node read(String name, String json) {
    try {
      return parse(name, json, defaultPort);
    } catch (IOException | RuntimeException e) {
      LOG.warnf(
          "node %s: its record cannot be read (%s); keeping what was known", name, e.getMessage());
      return null;
    }
  }

  /**
   * A node record, read; a bad key or port is an error, a record without key a node without peer.
   */
  static Node parse(String name, String json, int defaultPort) throws IOException {
    JsonNode n = JSON.readTree(json);
    if (!n.path("name").asText(name).equals(name)) {
      // the record's key is the node's (only its certificate writes it); a record naming
      // another node is not believed
      throw new IllegalArgumentException(
          "the record under " + name + " names node " + n.path("name").asText());
    }
    JsonNode wg = n.path("wireguard");
    String key = wg.path("publicKey").asText("");
    if (!key.isEmpty()) {
      WireGuardKeys.parsePublic(key); // a bad key is refused here, not by the device
    }
    int port = wg.path("port").asInt(defaultPort);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("wireguard.port " + port + " is not a UDP port");
    }
    List<String> addresses = new ArrayList<>();
    n.path("addresses")
        .forEach(a -> addresses.add(InetAddress.ofLiteral(a.asText()).getHostAddress()));
    List<Cidr> pods = new ArrayList<>();
    for (String field : List.of("ipv4Cidrs", "ipv6Cidrs")) {
      n.path(field).forEach(c -> pods.add(Cidr.parse(c.asText())));
    }
    return new Node(name, key.isEmpty() ? null : key, port, addresses, pods);
  }

  /**
   * Each node's pod prefixes that can be believed: within size, not this node's, not another's
   * accepted before (nodes already applied first, then by name: a newcomer cannot take a prefix
   * from a node that has it).
   */
  private Map<String, NodePeer> desired() {
    // this cluster's nodes first, then connected clusters'
    Map<String, Node> records = new java.util.LinkedHashMap<>(this.records);
    remote.forEach(records::putIfAbsent);
    List<String> order = new ArrayList<>();
    records.keySet().stream().filter(applied::containsKey).forEach(order::add);
    records.keySet().stream().filter(k -> !applied.containsKey(k)).forEach(order::add);
    List<Cidr> taken = new ArrayList<>(own);
    Map<String, NodePeer> out = new TreeMap<>();
    for (String name : order) {
      Node n = records.get(name);
      Set<Cidr> pods = new LinkedHashSet<>();
      for (Cidr c : n.pods()) {
        String refused = refusal(c, taken, pods.size());
        if (refused != null) {
          LOG.warnf("node %s: pod prefix %s refused: %s", name, c, refused);
          continue;
        }
        pods.add(c);
        taken.add(c);
      }
      WireGuardDevice.Peer peer = null;
      if (n.key() != null && !n.addresses().isEmpty()) {
        String via =
            n.addresses().stream()
                .filter(a -> !a.contains(":"))
                .findFirst()
                .orElse(n.addresses().getFirst());
        List<Cidr> allowed = new ArrayList<>(pods);
        for (String a : n.addresses()) {
          Cidr host = Cidr.parse(a.contains(":") ? a + "/128" : a + "/32");
          if (taken.stream().noneMatch(host::overlaps) || pods.stream().anyMatch(host::overlaps)) {
            allowed.add(host);
            taken.add(host);
          } else {
            LOG.warnf("node %s: address %s is another node's or this node's: not allowed", name, a);
          }
        }
        peer =
            new WireGuardDevice.Peer(
                n.key(), new InetSocketAddress(InetAddress.ofLiteral(via), n.port()), allowed);
      } else if (n.key() != null) {
        LOG.warnf("node %s publishes a WireGuard key but no address: no peer", name);
      }
      out.put(name, new NodePeer(name, peer, pods));
    }
    return out;
  }

  private static String refusal(Cidr c, List<Cidr> taken, int already) {
    int min = c.family() == Cidr.Family.IPV4 ? MIN_PREFIX_V4 : MIN_PREFIX_V6;
    if (c.prefixLength() < min) {
      return "wider than /" + min;
    }
    if (already >= MAX_PREFIXES) {
      return "more than " + MAX_PREFIXES + " prefixes";
    }
    for (Cidr t : taken) {
      if (t.overlaps(c)) {
        return "overlaps " + t + " (this node's, or another node's)";
      }
    }
    return null;
  }

  private void apply() {
    if (!synced) {
      return; // nothing is removed before the node list is known; nothing added half-known
    }
    Map<String, NodePeer> want = desired();
    Map<Cidr, Boolean> wantPrefixes = new HashMap<>();
    want.values().forEach(p -> p.podPrefixes().forEach(c -> wantPrefixes.put(c, p.peer() != null)));

    // 1. prefixes that go, or lose their peer: unsteered first
    for (Map.Entry<Cidr, Boolean> e : Map.copyOf(appliedPrefixes).entrySet()) {
      Boolean now = wantPrefixes.get(e.getKey());
      if (now == null) {
        datapath.deletePrefix(e.getKey());
        appliedPrefixes.remove(e.getKey());
      } else if (e.getValue() && !now) {
        datapath.putPrefixes(Map.of(e.getKey(), false));
        appliedPrefixes.put(e.getKey(), false);
      }
    }
    // 2. the device, one node at a time: its old key (if re-keyed) out and its peer in, together
    Set<String> wantKeys = new HashSet<>();
    want.values().stream()
        .filter(p -> p.peer() != null)
        .forEach(p -> wantKeys.add(p.peer().publicKey()));
    Map<String, NodePeer> done = new HashMap<>();
    for (NodePeer p : want.values()) {
      NodePeer old = applied.get(p.node());
      WireGuardDevice.Peer oldPeer = old == null ? null : old.peer();
      if (Objects.equals(oldPeer, p.peer())) {
        done.put(p.node(), p);
        continue;
      }
      List<String> remove = new ArrayList<>();
      if (oldPeer != null && !wantKeys.contains(oldPeer.publicKey())) {
        remove.add(oldPeer.publicKey());
      }
      try {
        device.update(remove, p.peer() == null ? List.of() : List.of(p.peer()));
        done.put(p.node(), p);
      } catch (RuntimeException e) {
        LOG.errorf(
            "WireGuard peer of node %s not configured (retried on the next change): %s",
            p.node(), e.getMessage());
        if (old != null) {
          done.put(p.node(), old);
        }
      }
    }
    Set<String> gone = new LinkedHashSet<>(strayKeys);
    for (NodePeer old : applied.values()) {
      if (!want.containsKey(old.node()) && old.peer() != null) {
        gone.add(old.peer().publicKey());
      }
    }
    gone.removeAll(wantKeys);
    if (!gone.isEmpty()) {
      try {
        device.update(gone, List.of());
        strayKeys = new HashSet<>();
      } catch (RuntimeException e) {
        LOG.errorf("removing WireGuard peers: %s", e.getMessage());
        strayKeys = gone;
      }
    } else {
      strayKeys = new HashSet<>();
    }
    // 3. then steer the pods of the peers the device has in (and list the others' as known)
    Map<Cidr, Boolean> add = new LinkedHashMap<>();
    for (NodePeer p : want.values()) {
      NodePeer onDevice = done.get(p.node());
      boolean through = p.peer() != null && onDevice != null && onDevice.peer() != null;
      for (Cidr c : p.podPrefixes()) {
        if (!Boolean.valueOf(through).equals(appliedPrefixes.get(c))) {
          add.put(c, through);
        }
      }
    }
    datapath.putPrefixes(add);
    appliedPrefixes.putAll(add);
    int set =
        (int) want.values().stream().filter(p -> !Objects.equals(p, applied.get(p.node()))).count();
    if (set > 0 || !gone.isEmpty()) {
      LOG.infof(
          "WireGuard: %d nodes changed, %d peers removed (%d peers)",
          set, gone.size(), done.values().stream().filter(p -> p.peer() != null).count());
    }
    applied = done;
  }
}
