package io.porin.core.mesh;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import io.porin.core.resource.JsonReader;
import io.porin.core.service.ServiceRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What this cluster believes of its peers' imported state ({@code /porin/v1/mesh/<peer>/...}, keys
 * given relative to {@code mesh/}), checked by every reader again, whoever wrote it: a peer counts
 * only with a recorded cluster ID that is not this cluster's; its identities only numbered in that
 * ID and labelled with its name as their cluster, never reserved; its endpoints only at addresses
 * in its pod CIDRs, with one of its identities' numbers; its nodes' pod CIDRs only inside its pod
 * CIDRs; its services only when global and shared, with backends in its pod CIDRs (their nodes
 * named {@code <peer>/<node>}). Everything else is refused, and said once.
 *
 * <p>Values are parsed when they arrive; the views are computed on demand. Not thread-safe.
 */
public final class MeshImports {
  /** A pod of a peer cluster at one address. */
  public record RemoteEndpoint(
      String cluster, String node, String namespace, String pod, int identity, Cidr address) {}

  /**
   * A node of a peer cluster: its underlay addresses, the pod CIDRs behind it, its WireGuard public
   * key ("" when its cluster has no encryption) and port (0: not given).
   */
  public record RemoteNode(
      String cluster,
      String name,
      List<String> addresses,
      List<Cidr> podCidrs,
      String publicKey,
      int wireguardPort) {}

  private final int localClusterId;
  private final Map<String, String> raw = new TreeMap<>();
  private final Set<String> said = new LinkedHashSet<>();
  private final List<String> refusals = new ArrayList<>();

  public MeshImports(int localClusterId) {
    this.localClusterId = localClusterId;
  }

  /** Replaces everything known (a snapshot of {@code mesh/}). */
  public void reset(Map<String, String> all) {
    raw.clear();
    raw.putAll(all);
    trees.keySet().retainAll(all.keySet());
    said.clear();
  }

  public void put(String key, String value) {
    raw.put(key, value);
    forgetRefusals(key);
  }

  public void delete(String key) {
    raw.remove(key);
    trees.remove(key);
    forgetRefusals(key);
  }

  /** A record that changed may be refused again (and said again); what went is forgotten. */
  private void forgetRefusals(String key) {
    said.removeIf(r -> r.startsWith(key + ": "));
  }

  /** A parsed value, read once per value. */
  private record Parsed(String value, Object tree) {}

  private final Map<String, Parsed> trees = new HashMap<>();

  private Object tree(String key, String value) {
    Parsed p = trees.get(key);
    if (p == null || !p.value().equals(value)) {
      p = new Parsed(value, JsonReader.read(value));
      trees.put(key, p);
    }
    return p.tree();
  }

  /** The widest pod CIDR a peer may claim, per family (as wide as a cluster pool gets). */
  static final int MIN_PREFIX_V4 = 8;

  static final int MIN_PREFIX_V6 = 16;

  /**
   * The peers with a valid record, by name: an ID that is not this cluster's, pod CIDRs no wider
   * than /{@value #MIN_PREFIX_V4} (IPv6 /{@value #MIN_PREFIX_V6}) that overlap no other peer's (two
   * peers claiming the same addresses are both refused: neither can be believed about them).
   */
  public Map<String, ClusterInfo> clusters() {
    Map<String, ClusterInfo> out = new TreeMap<>();
    raw.forEach(
        (k, v) -> {
          int slash = k.indexOf('/');
          if (slash > 0 && k.substring(slash).equals("/info")) {
            String peer = k.substring(0, slash);
            try {
              ClusterInfo c = ClusterInfo.parseRecord(peer, v);
              String wide =
                  c.podCidrs().stream()
                      .filter(
                          x ->
                              x.prefixLength()
                                  < (x.family() == Cidr.Family.IPV4
                                      ? MIN_PREFIX_V4
                                      : MIN_PREFIX_V6))
                      .map(Cidr::toString)
                      .findFirst()
                      .orElse(null);
              if (c.id() == localClusterId) {
                refuse(k, "cluster " + peer + " claims this cluster's ID " + c.id());
              } else if (wide != null) {
                refuse(k, "cluster " + peer + "'s pod CIDR " + wide + " is wider than a pool");
              } else {
                out.put(peer, c);
              }
            } catch (IllegalArgumentException e) {
              refuse(k, e.getMessage());
            }
          }
        });
    java.util.Set<String> clashing = new java.util.HashSet<>();
    for (ClusterInfo a : out.values()) {
      for (ClusterInfo b : out.values()) {
        if (a.name().compareTo(b.name()) < 0 && (overlap(a, b) != null || a.id() == b.id())) {
          String why =
              a.id() == b.id() ? "the same cluster ID " + a.id() : "pod CIDRs " + overlap(a, b);
          refuse(a.name() + "/info", "clusters " + a.name() + " and " + b.name() + " claim " + why);
          refuse(b.name() + "/info", "clusters " + a.name() + " and " + b.name() + " claim " + why);
          clashing.add(a.name());
          clashing.add(b.name());
        }
      }
    }
    out.keySet().removeAll(clashing);
    return out;
  }

  private static String overlap(ClusterInfo a, ClusterInfo b) {
    for (Cidr x : a.podCidrs()) {
      for (Cidr y : b.podCidrs()) {
        if (x.family() == y.family() && x.overlaps(y)) {
          return x + " and " + y;
        }
      }
    }
    return null;
  }

  /** An address as an agent writes it: a canonical literal, or null. */
  private static Cidr hostOf(String text) {
    try {
      java.net.InetAddress a = java.net.InetAddress.ofLiteral(text);
      Cidr c = Cidr.parse(text.contains(":") ? text + "/128" : text + "/32");
      boolean canonical =
          c.family() == Cidr.Family.IPV4
              ? Cidr.format(c.family(), c.network()).equals(text)
              : text.equals(text.strip()) && !text.isEmpty();
      return a.getAddress().length == (c.family() == Cidr.Family.IPV4 ? 4 : 16) && canonical
          ? c
          : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The peers' identities and their labels. */
  public Map<Integer, LabelSet> identities() {
    Map<String, ClusterInfo> clusters = clusters();
    Map<Integer, LabelSet> out = new HashMap<>();
    each(
        "identities/id/",
        (peer, rest, value, key) -> {
          ClusterInfo c = clusters.get(peer);
          if (c == null) {
            return;
          }
          long id;
          try {
            id = Long.parseLong(rest);
          } catch (NumberFormatException e) {
            refuse(key, "not an identity number");
            return;
          }
          if (!Long.toString(id).equals(rest)) {
            refuse(key, "\"" + rest + "\" is not an identity number as written (canonical)");
            return;
          }
          String why = identityProblem(id, c);
          if (why != null) {
            refuse(key, why);
            return;
          }
          try {
            LabelSet labels = LabelSet.parseCanonical(value);
            String cluster =
                labels.get(LabelSource.K8S, Label.POLICY_CLUSTER).map(Label::value).orElse("");
            if (labels.hasReserved()) {
              refuse(key, "a peer's identity with reserved labels");
            } else if (!cluster.equals(peer)) {
              refuse(key, "labels name cluster \"" + cluster + "\", not \"" + peer + "\"");
            } else {
              out.put((int) id, labels);
            }
          } catch (RuntimeException e) {
            refuse(key, "labels do not parse: " + e.getMessage());
          }
        });
    return out;
  }

  /** The peers' endpoints, by address. */
  public Map<Cidr, RemoteEndpoint> endpoints() {
    Map<String, ClusterInfo> clusters = clusters();
    Map<Cidr, RemoteEndpoint> out = new HashMap<>();
    each(
        "endpoints/",
        (peer, rest, value, key) -> {
          ClusterInfo c = clusters.get(peer);
          int slash = rest.indexOf('/');
          if (c == null || slash <= 0) {
            return;
          }
          String node = rest.substring(0, slash);
          String ip = rest.substring(slash + 1);
          try {
            Cidr host = hostOf(ip);
            if (host == null) {
              refuse(key, "\"" + ip + "\" is not an address");
              return;
            }
            Map<?, ?> v = (Map<?, ?>) tree(key, value);
            long identity = ((Number) v.get("identity")).longValue();
            String why = identityProblem(identity, c);
            if (!c.holds(host)) {
              refuse(key, ip + " is not in cluster " + peer + "'s pod CIDRs " + c.podCidrs());
            } else if (why != null) {
              refuse(key, why);
            } else {
              out.put(
                  host,
                  new RemoteEndpoint(
                      peer,
                      node,
                      String.valueOf(v.get("namespace")),
                      String.valueOf(v.get("pod")),
                      (int) identity,
                      host));
            }
          } catch (RuntimeException e) {
            refuse(key, "not an endpoint record: " + e.getMessage());
          }
        });
    return out;
  }

  /** The peers' nodes, each with the pod CIDRs behind it that lie in its cluster's. */
  public List<RemoteNode> nodes() {
    Map<String, ClusterInfo> clusters = clusters();
    List<RemoteNode> out = new ArrayList<>();
    each(
        "nodes/",
        (peer, name, value, key) -> {
          ClusterInfo c = clusters.get(peer);
          if (c == null) {
            return;
          }
          try {
            Map<?, ?> v = (Map<?, ?>) tree(key, value);
            if (!name.equals(v.get("name"))) {
              refuse(key, "a node record under " + name + " names node " + v.get("name"));
              return;
            }
            List<String> addresses = new ArrayList<>();
            for (Object a : (List<?>) v.get("addresses")) {
              String s = String.valueOf(a);
              Cidr host = hostOf(s);
              if (host == null) {
                refuse(key, "node " + name + "'s address \"" + s + "\" is not an address");
              } else if (c.holds(host)) {
                refuse(key, "node " + name + " claims the pod address " + s);
              } else {
                addresses.add(s);
              }
            }
            List<Cidr> cidrs = new ArrayList<>();
            for (String field : List.of("ipv4Cidrs", "ipv6Cidrs")) {
              if (v.get(field) instanceof List<?> list) {
                for (Object o : list) {
                  Cidr cidr = Cidr.parse(String.valueOf(o));
                  if (c.podCidrs().stream().anyMatch(p -> p.contains(cidr))) {
                    cidrs.add(cidr);
                  } else {
                    refuse(key, "node " + name + "'s pod CIDR " + cidr + " is not its cluster's");
                  }
                }
              }
            }
            String publicKey = "";
            int port = 0;
            if (v.get("wireguard") instanceof Map<?, ?> wg) {
              if (wg.get("publicKey") instanceof String k) {
                publicKey = k;
              }
              if (wg.get("port") instanceof Long p && p > 0 && p <= 65535) {
                port = p.intValue();
              }
            }
            out.add(new RemoteNode(peer, name, addresses, cidrs, publicKey, port));
          } catch (RuntimeException e) {
            refuse(key, "not a node record: " + e.getMessage());
          }
        });
    return out;
  }

  /** The peers' exported services, by "namespace/name", one list entry per peer. */
  public Map<String, List<ServiceRecord>> services() {
    Map<String, ClusterInfo> clusters = clusters();
    Map<String, List<ServiceRecord>> out = new TreeMap<>();
    each(
        "services/",
        (peer, rest, value, key) -> {
          ClusterInfo c = clusters.get(peer);
          if (c == null) {
            return;
          }
          try {
            ServiceRecord r = ServiceRecord.parse(value);
            if (!rest.equals(r.namespace() + "/" + r.name())) {
              refuse(key, "a service record under " + rest + " names " + r.key());
              return;
            }
            if (!r.mesh().exported()) {
              refuse(key, "service " + r.key() + " is not global and shared");
              return;
            }
            List<ServiceRecord.Backend> backends = new ArrayList<>();
            for (ServiceRecord.Backend b : r.backends()) {
              boolean inside =
                  !b.addresses().isEmpty()
                      && b.addresses().stream()
                          .allMatch(
                              a -> {
                                Cidr h = hostOf(a);
                                return h != null && c.holds(h);
                              });
              if (inside) {
                backends.add(
                    new ServiceRecord.Backend(
                        b.pod(), peer + "/" + b.node(), b.addresses(), b.state(), b.ports()));
              } else {
                refuse(
                    key, "backend " + b.pod() + " " + b.addresses() + " is not in its pod CIDRs");
              }
            }
            out.computeIfAbsent(r.key(), x -> new ArrayList<>()).add(r.withBackends(backends));
          } catch (RuntimeException e) {
            refuse(key, e.getMessage());
          }
        });
    return out;
  }

  /** Refusals said since the last call (each said once while it lasts). */
  public List<String> drainRefusals() {
    List<String> out = List.copyOf(refusals);
    refusals.clear();
    return out;
  }

  /** How many distinct refusals there were. */
  public int refusedCount() {
    return said.size();
  }

  private String identityProblem(long id, ClusterInfo c) {
    if (id < 0 || id > 0xFFFFFFL) {
      return "identity " + id + " is not a cluster identity";
    }
    NumericIdentity n = new NumericIdentity((int) id);
    if (!n.isClusterScoped() || (id & 0xFFFF) < NumericIdentity.MIN_CLUSTER_LOCAL) {
      return "identity " + id + " is not a cluster identity";
    }
    if (n.clusterId() != c.id()) {
      return "identity "
          + id
          + " is of cluster ID "
          + n.clusterId()
          + ", not of cluster "
          + c.name()
          + " (ID "
          + c.id()
          + ")";
    }
    return null;
  }

  private interface Visitor {
    void visit(String peer, String rest, String value, String key);
  }

  /** Every imported record of one kind: {@code <peer>/state/<kind><rest>}. */
  private void each(String kind, Visitor v) {
    raw.forEach(
        (k, value) -> {
          int slash = k.indexOf('/');
          if (slash <= 0) {
            return;
          }
          String marker = "/state/" + kind;
          if (k.startsWith(marker, slash) && k.length() > slash + marker.length()) {
            v.visit(k.substring(0, slash), k.substring(slash + marker.length()), value, k);
          }
        });
  }

  private void refuse(String key, String why) {
    if (said.add(key + ": " + why)) {
      refusals.add("mesh/" + key + ": " + why);
    }
  }
}
