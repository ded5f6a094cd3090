package io.porin.agent.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.net.Command;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/**
 * Keeps the kernel's ipcache equal to what the cluster knows: every endpoint of every node (from
 * etcd), the nodes' own addresses (host for this node, remote-node for the others), this node's
 * gateway addresses (host), and the CIDR identities of policies. Sources rank local endpoints
 * first, then published endpoints, nodes, CIDRs; the kernel only sees differences. With native
 * routing on, it also routes other nodes' pod CIDRs via their addresses.
 */
public final class IpcacheSync implements LocalIpcache, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(IpcacheSync.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Datapath datapath;
  private final KvStore kv;
  private final String node;
  private final boolean nodeRoutes;
  private final Map<Cidr, Integer> local = new HashMap<>();

  /** Endpoint records as published, by key; which of them count is decided at each flush. */
  private final Map<String, Published> published = new HashMap<>();

  /** Which node holds each IPAM block (written by the IPAM service only). */
  private final Map<Cidr, String> blockOwners = new HashMap<>();

  private boolean blocksKnown;
  private final Set<String> refusedKeys = new HashSet<>();
  private final java.util.concurrent.atomic.AtomicLong refused =
      new java.util.concurrent.atomic.AtomicLong();
  private volatile java.util.function.Predicate<String> revokedNode = n -> false;

  /** One endpoint record: the node whose key it is under, and what it says. */
  private record Published(String node, Cidr prefix, java.net.InetAddress address, Peer peer) {}

  private final java.util.concurrent.atomic.AtomicReference<Map<java.net.InetAddress, Peer>> peers =
      new java.util.concurrent.atomic.AtomicReference<>(Map.of());

  /**
   * What the cluster says about an address: a pod (on any node, or of a connected cluster: then
   * {@code cluster} names it and {@code node} is {@code <cluster>/<node>}), or a node.
   */
  public record Peer(
      String namespace, String pod, String node, int endpointId, int identity, String cluster) {
    public Peer(String namespace, String pod, String node, int endpointId, int identity) {
      this(namespace, pod, node, endpointId, identity, "");
    }

    public Peer(String namespace, String pod, String node, int endpointId) {
      this(namespace, pod, node, endpointId, 0, "");
    }

    public boolean isPod() {
      return !pod.isEmpty();
    }
  }

  /** The pod or node an address belongs to, if the cluster knows it (a published snapshot). */
  public Peer peer(java.net.InetAddress address) {
    return peers.get().get(address);
  }

  /** Connected clusters' endpoints (checked by {@link MeshWatch}), below this cluster's own. */
  private Map<Cidr, Integer> remoteEntries = Map.of();

  private Map<java.net.InetAddress, Peer> remotePeers = Map.of();

  /** Connected clusters' pod CIDRs, each via its node's address. */
  private Map<String, String> remoteRoutes = Map.of();

  private final Map<String, Map<Cidr, Integer>> nodes = new HashMap<>();
  private final Map<String, List<String>> nodeRouteTargets = new HashMap<>();
  private final Map<String, List<java.net.InetAddress>> nodeAddresses = new HashMap<>();
  private Map<Cidr, Integer> cidrs = Map.of();
  private Map<Cidr, Integer> written = new HashMap<>();
  private final Map<String, String> routes = new TreeMap<>();
  private final List<AutoCloseable> watches = new ArrayList<>();

  public IpcacheSync(Datapath datapath, KvStore kv, String node, boolean nodeRoutes) {
    this.datapath = datapath;
    this.kv = kv;
    this.node = node;
    this.nodeRoutes = nodeRoutes;
    written = new HashMap<>(datapath.ipcache());
  }

  public void start() {
    watches.add(kv.watch(Keys.Ipam.BLOCKS_PREFIX, 0, listener(this::blocksReset, this::block)));
    watches.add(kv.watch(Keys.Endpoints.PREFIX, 0, listener(this::endpointsReset, this::endpoint)));
    watches.add(kv.watch(Keys.Nodes.PREFIX, 0, listener(this::nodesReset, this::node)));
  }

  /** A local endpoint's addresses: written at once, before etcd has them. */
  @Override
  public synchronized void putLocal(Cidr prefix, int identity) {
    local.put(prefix, identity);
    flush();
  }

  @Override
  public synchronized void removeLocal(Cidr prefix) {
    local.remove(prefix);
    flush();
  }

  public synchronized void setCidrIdentities(Map<Cidr, Integer> c) {
    cidrs = Map.copyOf(c);
    flush();
  }

  /**
   * Connected clusters' endpoints and nodes: their endpoints' addresses map to their identities
   * (never over this cluster's own records), and, with node routes on, each of their nodes' pod
   * CIDRs is routed via that node's address (or, when it is not on this node's link, via the next
   * hop this node takes to it, as a routed underlay between data centres).
   */
  public synchronized void setRemote(
      Map<Cidr, io.porin.core.mesh.MeshImports.RemoteEndpoint> endpoints,
      List<io.porin.core.mesh.MeshImports.RemoteNode> remoteNodes) {
    // what this node routes itself (its links, its cluster's pods): never a connected cluster's
    List<Cidr> own = nodeRoutes ? ownRoutes() : List.of();
    Map<Cidr, Integer> entries = new HashMap<>();
    Map<java.net.InetAddress, Peer> p = new HashMap<>();
    endpoints.forEach(
        (c, e) -> {
          if (overlapsAny(c, own)) {
            refuse(
                "mesh " + e.cluster() + " " + c,
                "cluster " + e.cluster() + " claims " + c + ", which this node routes itself");
            return;
          }
          entries.put(c, e.identity());
          p.put(
              java.net.InetAddress.ofLiteral(Cidr.format(c.family(), c.network())),
              new Peer(
                  e.namespace(),
                  e.pod(),
                  e.cluster() + "/" + e.node(),
                  0,
                  e.identity(),
                  e.cluster()));
        });
    Map<String, String> routesWanted = new TreeMap<>();
    for (var n : remoteNodes) {
      for (Cidr c : n.podCidrs()) {
        if (overlapsAny(c, own)) {
          refuse(
              "mesh " + n.cluster() + "/" + n.name() + " " + c,
              "cluster "
                  + n.cluster()
                  + "'s node "
                  + n.name()
                  + " claims "
                  + c
                  + ", which overlaps a route of this node's own");
          continue;
        }
        boolean v6 = c.family() == Cidr.Family.IPV6;
        n.addresses().stream()
            .filter(a -> a.contains(":") == v6)
            .findFirst()
            .ifPresent(via -> routesWanted.put(c.toString(), via));
      }
    }
    remoteEntries = Map.copyOf(entries);
    remotePeers = Map.copyOf(p);
    remoteRoutes = Map.copyOf(routesWanted);
    if (nodeRoutes && !adopted) {
      // routes this agent made before a restart: kept if still wanted, removed if not (a peer
      // disconnected meanwhile)
      adopted = true;
      for (String family : List.of("-4", "-6")) {
        Command.Result r = Command.tryIp(family, "route", "show", "proto", MESH_PROTO);
        for (String line : r.ok() ? r.output().split("\n") : new String[0]) {
          String[] w = line.trim().split("\\s+");
          if (w.length > 2 && w[1].equals("via")) {
            routes.putIfAbsent(w[0], w[2]);
          }
        }
      }
    }
    syncRoutes();
    flush();
  }

  /**
   * The routing protocol number of the routes made for connected clusters' pod CIDRs (one no
   * routing daemon names in iproute2's rt_protos), so they are told from every other route.
   */
  static final String MESH_PROTO = "117";

  private boolean adopted;
  private List<Cidr> ownRoutesCache = List.of();
  private long ownRoutesAt;

  /**
   * The prefixes of this node's routes other than those made for connected clusters (read at most
   * every 2 s).
   */
  private List<Cidr> ownRoutes() {
    long now = System.nanoTime();
    if (now - ownRoutesAt < 2_000_000_000L && ownRoutesAt != 0) {
      return ownRoutesCache;
    }
    List<Cidr> out = new ArrayList<>();
    for (String family : List.of("-4", "-6")) {
      Command.Result r = Command.tryIp(family, "route", "show", "table", "main");
      if (!r.ok()) {
        continue;
      }
      for (String line : r.output().split("\n")) {
        String[] w = line.trim().split("\\s+");
        if (w.length == 0
            || w[0].isEmpty()
            || w[0].equals("default")
            || line.contains("proto " + MESH_PROTO)) {
          continue;
        }
        String prefix = w[0].contains("/") ? w[0] : w[0] + (w[0].contains(":") ? "/128" : "/32");
        try {
          Cidr c = Cidr.parse(prefix);
          if (!nodeRouteCidrs().contains(c.toString())) {
            out.add(c);
          }
        } catch (RuntimeException e) {
          // not a prefix (e.g. a multicast or unreachable keyword): not a route to compare with
        }
      }
    }
    // this cluster's other nodes' pod CIDRs, as routed by this class, count as this node's own
    for (String c : nodeRouteCidrs()) {
      out.add(Cidr.parse(c));
    }
    ownRoutesCache = List.copyOf(out);
    ownRoutesAt = now;
    return ownRoutesCache;
  }

  private Set<String> nodeRouteCidrs() {
    Set<String> out = new HashSet<>();
    nodeRouteTargets.values().forEach(ts -> ts.forEach(t -> out.add(t.split(" via ")[0])));
    return out;
  }

  private static boolean overlapsAny(Cidr c, List<Cidr> prefixes) {
    for (Cidr o : prefixes) {
      if (o.family() == c.family() && o.overlaps(c)) {
        return true;
      }
    }
    return false;
  }

  /** Connected clusters' endpoints in the ipcache. */
  public synchronized int remoteSize() {
    return remoteEntries.size();
  }

  public synchronized int size() {
    return written.size();
  }

  private WatchListener listener(
      java.util.function.Consumer<Snapshot> reset, java.util.function.Consumer<WatchEvent> event) {
    return new WatchListener() {
      @Override
      public void onReset(Snapshot snapshot) {
        synchronized (IpcacheSync.this) {
          reset.accept(snapshot);
          flush();
        }
      }

      @Override
      public void onEvents(List<WatchEvent> events) {
        synchronized (IpcacheSync.this) {
          events.forEach(event);
          flush();
        }
      }
    };
  }

  /**
   * Ignores, from now on, what nodes whose certificates were revoked publish (their endpoints, and
   * so their pods' identities).
   */
  public synchronized void ignoreNodes(java.util.function.Predicate<String> revoked) {
    this.revokedNode = revoked;
    flush();
  }

  /** Endpoint records not taken: published under a node that does not hold the address. */
  public long refusedRecords() {
    return refused.get();
  }

  private void blocksReset(Snapshot s) {
    blockOwners.clear();
    s.entries().forEach(e -> block(new WatchEvent(WatchEvent.Type.PUT, e)));
    blocksKnown = true;
  }

  private void block(WatchEvent e) {
    String key = e.entry().key().substring(Keys.Ipam.BLOCKS_PREFIX.length());
    int slash = key.indexOf('/');
    try {
      Cidr block = Cidr.parse(key.substring(slash + 1).replace('_', '/'));
      if (e.type() == WatchEvent.Type.DELETE) {
        blockOwners.remove(block);
      } else {
        blockOwners.put(block, e.entry().value());
      }
    } catch (RuntimeException ex) {
      LOG.warnf("ignoring IPAM block key %s: %s", e.entry().key(), ex.getMessage());
    }
  }

  private void endpointsReset(Snapshot s) {
    published.clear();
    s.entries().forEach(e -> endpoint(new WatchEvent(WatchEvent.Type.PUT, e)));
  }

  private void endpoint(WatchEvent e) {
    String key = e.entry().key();
    if (e.type() == WatchEvent.Type.DELETE) {
      published.remove(key);
      return;
    }
    try {
      String owner =
          Keys.Endpoints.nodeOf(key).orElseThrow(() -> new IllegalArgumentException("no node"));
      String ip = Keys.Endpoints.ipOf(key).orElseThrow();
      Cidr prefix = Cidr.parse(ip.contains(":") ? ip + "/128" : ip + "/32");
      java.net.InetAddress address = java.net.InetAddress.ofLiteral(ip);
      JsonNode v = JSON.readTree(e.entry().value());
      published.put(
          key,
          new Published(
              owner,
              prefix,
              address,
              new Peer(
                  v.path("namespace").asText(""),
                  v.path("pod").asText(""),
                  owner,
                  v.path("endpointId").asInt(),
                  v.path("identity").asInt())));
    } catch (IOException | RuntimeException ex) {
      published.remove(key);
      LOG.warnf("ignoring endpoint key %s: %s", key, ex.getMessage());
    }
  }

  /**
   * Whether a record counts: its node holds an IPAM block with its address (a node's certificate
   * lets it write its own keys only, and this stops it from claiming another node's pods), and its
   * node was not revoked. Until the blocks are known, records are taken as they are.
   */
  private boolean accepted(String key, Published p) {
    if (revokedNode.test(p.node())) {
      return false;
    }
    if (p.peer().identity() < 256) {
      // a pod never has a reserved identity (host, world, ...): a node claiming one for an
      // address is not believed
      refuse(key, "endpoint with the reserved identity " + p.peer().identity());
      return false;
    }
    if (!blocksKnown) {
      return true;
    }
    for (Map.Entry<Cidr, String> b : blockOwners.entrySet()) {
      if (b.getKey().contains(p.prefix())) {
        if (b.getValue().equals(p.node())) {
          refusedKeys.remove(key);
          return true;
        }
        break;
      }
    }
    if (refusedKeys.add(key)) {
      refused.incrementAndGet();
      LOG.warnf(
          "refusing endpoint %s published by node %s: the address is not in that node's pod"
              + " CIDRs",
          p.address().getHostAddress(), p.node());
    }
    return false;
  }

  private void nodesReset(Snapshot s) {
    nodes.clear();
    nodeAddresses.clear();
    nodeRouteTargets.clear();
    s.entries().forEach(this::putNode);
    syncRoutes();
  }

  private void node(WatchEvent e) {
    if (e.type() == WatchEvent.Type.DELETE) {
      String name = e.entry().key().substring(Keys.Nodes.PREFIX.length());
      nodes.remove(name);
      nodeAddresses.remove(name);
      nodeRouteTargets.remove(name);
    } else {
      putNode(e.entry());
    }
    syncRoutes();
  }

  private void putNode(Entry e) {
    // Who the record is about: its key, which only that node's certificate may write in etcd.
    String name = e.key().substring(Keys.Nodes.PREFIX.length());
    try {
      JsonNode n = JSON.readTree(e.value());
      String claimed = n.path("name").asText(name);
      if (!claimed.equals(name)) {
        forgetNode(name);
        refuse(e.key(), "node record under " + name + " names node " + claimed);
        return;
      }
      boolean self = name.equals(node);
      int id =
          self ? ReservedIdentity.HOST.id().value() : ReservedIdentity.REMOTE_NODE.id().value();
      List<String> addresses = new ArrayList<>();
      for (JsonNode a : n.path("addresses")) {
        // a node's own addresses are underlay ones: never a pod's (which IPAM hands out)
        if (inAnyBlock(a.asText())) {
          refuse(e.key(), "node " + name + " claims the pod address " + a.asText());
        } else {
          addresses.add(a.asText());
        }
      }
      List<String> gateways = new ArrayList<>();
      for (String field : List.of("gateway4", "gateway6")) {
        String gw = n.path(field).asText("");
        // its gateways lie in its own pod CIDRs
        if (!gw.isEmpty() && ownsAddress(name, gw)) {
          gateways.add(gw);
        }
      }
      Map<Cidr, Integer> prefixes = new HashMap<>();
      List<java.net.InetAddress> own = new ArrayList<>();
      for (String a : addresses) {
        prefixes.put(Cidr.parse(a.contains(":") ? a + "/128" : a + "/32"), id);
        own.add(java.net.InetAddress.ofLiteral(a));
      }
      for (String gw : gateways) {
        prefixes.put(Cidr.parse(gw.contains(":") ? gw + "/128" : gw + "/32"), id);
        own.add(java.net.InetAddress.ofLiteral(gw));
      }
      nodes.put(name, prefixes);
      nodeAddresses.put(name, own);
      if (!self && !addresses.isEmpty()) {
        // Each family's pod CIDRs (those IPAM gave this node) via its first address of that
        // family.
        List<String> targets = new ArrayList<>();
        addresses.stream()
            .filter(a -> !a.contains(":"))
            .findFirst()
            .ifPresent(
                via ->
                    ownCidrs(name, n.path("ipv4Cidrs"))
                        .forEach(c -> targets.add(c + " via " + via)));
        addresses.stream()
            .filter(a -> a.contains(":"))
            .findFirst()
            .ifPresent(
                via ->
                    ownCidrs(name, n.path("ipv6Cidrs"))
                        .forEach(c -> targets.add(c + " via " + via)));
        nodeRouteTargets.put(name, targets);
      }
    } catch (IOException | RuntimeException ex) {
      LOG.warnf("ignoring node key %s: %s", e.key(), ex.getMessage());
    }
  }

  private void forgetNode(String name) {
    nodes.remove(name);
    nodeAddresses.remove(name);
    nodeRouteTargets.remove(name);
  }

  private void refuse(String key, String why) {
    if (refusedKeys.add(key + " " + why)) {
      refused.incrementAndGet();
      LOG.warnf("refusing %s: %s", key, why);
    }
  }

  private boolean inAnyBlock(String address) {
    try {
      Cidr host = Cidr.parse(address.contains(":") ? address + "/128" : address + "/32");
      return blockOwners.keySet().stream().anyMatch(b -> b.contains(host));
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Whether {@code node} holds the IPAM block of {@code address} (anything goes until known). */
  private boolean ownsAddress(String node, String address) {
    if (!blocksKnown) {
      return true;
    }
    Cidr host = Cidr.parse(address.contains(":") ? address + "/128" : address + "/32");
    return blockOwners.entrySet().stream()
        .anyMatch(b -> b.getKey().contains(host) && b.getValue().equals(node));
  }

  /**
   * The CIDRs of a node record that IPAM gave that node (all of them until the blocks are known).
   */
  private List<String> ownCidrs(String node, JsonNode cidrs) {
    List<String> out = new ArrayList<>();
    for (JsonNode c : cidrs) {
      try {
        Cidr cidr = Cidr.parse(c.asText());
        if (!blocksKnown || node.equals(blockOwners.get(cidr))) {
          out.add(c.asText());
        } else {
          refuse(Keys.Nodes.node(node), "node " + node + " claims the pod CIDR " + c.asText());
        }
      } catch (RuntimeException e) {
        refuse(Keys.Nodes.node(node), "not a CIDR: " + c.asText());
      }
    }
    return out;
  }

  private void syncRoutes() {
    if (!nodeRoutes) {
      return;
    }
    Map<String, String> want = new TreeMap<>();
    nodeRouteTargets
        .values()
        .forEach(
            ts ->
                ts.forEach(
                    t -> {
                      String[] p = t.split(" via ");
                      want.put(p[0], p[1]);
                    }));
    remoteRoutes.forEach(want::putIfAbsent);
    for (Map.Entry<String, String> r : want.entrySet()) {
      if (!r.getValue().equals(routes.get(r.getKey()))) {
        boolean mesh = !nodeRouteCidrs().contains(r.getKey());
        Command.Result res =
            mesh
                ? Command.tryIp(
                    "route", "replace", r.getKey(), "via", r.getValue(), "proto", MESH_PROTO)
                : Command.tryIp("route", "replace", r.getKey(), "via", r.getValue());
        if (!res.ok() && mesh) {
          // a node of another cluster, not on this link: via the next hop towards it
          res = viaNextHop(r.getKey(), r.getValue());
        }
        if (res.ok()) {
          routes.put(r.getKey(), r.getValue());
        } else {
          LOG.warnf("route %s via %s: %s", r.getKey(), r.getValue(), res.output());
        }
      }
    }
    for (String cidr : Set.copyOf(routes.keySet())) {
      if (!want.containsKey(cidr)) {
        Command.Result res =
            nodeRouteCidrs().contains(cidr) || !routes.containsKey(cidr)
                ? Command.tryIp("route", "del", cidr)
                : Command.tryIp("route", "del", cidr, "proto", MESH_PROTO);
        if (!res.ok()) {
          LOG.warnf("removing the route to %s: %s", cidr, res.output());
        }
        routes.remove(cidr);
      }
    }
  }

  /** Routes {@code cidr} the way this node reaches {@code address} (its gateway). */
  private static Command.Result viaNextHop(String cidr, String address) {
    Command.Result get = Command.tryIp("route", "get", address);
    if (!get.ok()) {
      return get;
    }
    String[] words = get.output().trim().split("\\s+");
    for (int i = 0; i + 1 < words.length; i++) {
      if (words[i].equals("via")) {
        return Command.tryIp("route", "replace", cidr, "via", words[i + 1], "proto", MESH_PROTO);
      }
    }
    return new Command.Result(1, "no next hop towards " + address + ": " + get.output().trim());
  }

  private void flush() {
    Map<Cidr, Integer> endpoints = new HashMap<>();
    Map<java.net.InetAddress, Peer> p = new HashMap<>(remotePeers);
    published.forEach(
        (key, rec) -> {
          if (accepted(key, rec)) {
            endpoints.put(rec.prefix(), rec.peer().identity());
            p.put(rec.address(), rec.peer());
          }
        });
    nodeAddresses.forEach(
        (name, addresses) -> {
          if (!revokedNode.test(name)) {
            addresses.forEach(a -> p.putIfAbsent(a, new Peer("", "", name, 0)));
          }
        });
    peers.set(Map.copyOf(p));
    Map<Cidr, Integer> want = new HashMap<>(cidrs);
    // connected clusters' endpoints below this cluster's nodes, endpoints and local pods
    want.putAll(remoteEntries);
    nodes.forEach(
        (name, prefixes) -> {
          if (!revokedNode.test(name)) {
            want.putAll(prefixes);
          }
        });
    want.putAll(endpoints);
    want.putAll(local);
    Map<Cidr, Integer> changed = new HashMap<>();
    want.forEach(
        (k, v) -> {
          if (!v.equals(written.get(k))) {
            changed.put(k, v);
          }
        });
    Set<Cidr> gone = new HashSet<>(written.keySet());
    gone.removeAll(want.keySet());
    try {
      if (!changed.isEmpty()) {
        datapath.putIpcache(changed);
      }
      for (Cidr c : gone) {
        datapath.deleteIpcache(c);
      }
      written = want;
      if (!changed.isEmpty() || !gone.isEmpty()) {
        // established connections check their peers' identities again
        datapath.ipcacheChanged();
      }
    } catch (RuntimeException e) {
      LOG.errorf(e, "writing the ipcache (%d changes, %d deletions)", changed.size(), gone.size());
    }
  }

  @Override
  public void close() {
    for (AutoCloseable w : watches) {
      try {
        w.close();
      } catch (Exception e) {
        LOG.debugf(e, "closing a watch");
      }
    }
  }
}
