package io.porin.lab;

import io.porin.kvstore.EtcdAccess;
import io.porin.kvstore.Keys;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Labs as clusters of a mesh: their underlays linked as two data centres' networks are ({@link
 * #link}), each running its clustermesh service ({@link #enable}), connected in both directions
 * ({@link #connect}) and disconnected ({@link #disconnect}).
 *
 * <p>A link is a veth pair between the two control-plane namespaces (the labs' routers): each
 * routes the other's underlay and pod pools over it, and each lab's nodes route the other's
 * underlay via their own router. Pod traffic between the clusters then takes the routes each agent
 * makes from the imported node records (a remote node's pod CIDR via the next hop towards it).
 * Nothing in the root namespace changes; removing either lab removes the link.
 */
public final class LabMesh {
  private final Lab lab;
  private final LabDirectory dir;

  public LabMesh(Lab lab) {
    this.lab = lab;
    this.dir = lab.dir();
  }

  /** The link's interface in a lab's router towards the lab with cluster ID {@code peerId}. */
  static String linkName(int peerId) {
    return "mesh" + peerId;
  }

  /** The link-local IPv6 address of a lab's router on its links (by its cluster ID). */
  static String linkLocal(int clusterId) {
    return String.format("fe80::ac1e:%x", clusterId);
  }

  /** Links the underlays of two running labs (idempotent). */
  public void link(String a, String b) {
    if (a.equals(b)) {
      throw new LabException("porin lab link: a lab cannot be linked to itself (" + a + ")");
    }
    withBoth(
        a,
        b,
        (sa, sb) -> {
          if (sa.clusterId == sb.clusterId) {
            throw new LabException(
                "labs "
                    + a
                    + " and "
                    + b
                    + " both have cluster ID "
                    + sa.clusterId
                    + ": their underlays (172.30.<cluster-id>.0/24) would be the same; bring one"
                    + " up with another --cluster-id");
          }
          if (sa.links.contains(b)
              && Host.run("ip", "-n", sa.controlPlane.netns, "link", "show", linkName(sb.clusterId))
                  .ok()) {
            lab.progress().accept("labs " + a + " and " + b + " are linked already");
            return;
          }
          lab.progress()
              .accept(
                  "linking the underlays of "
                      + a
                      + " (172.30."
                      + sa.clusterId
                      + ".0/24) and "
                      + b
                      + " (172.30."
                      + sb.clusterId
                      + ".0/24)");
          Host.run(
              "ip", "-n", sa.controlPlane.netns, "link", "del", linkName(sb.clusterId)); // stale
          Lab.ipIn(
              sa.controlPlane.netns,
              "link",
              "add",
              linkName(sb.clusterId),
              "type",
              "veth",
              "peer",
              "name",
              linkName(sa.clusterId),
              "netns",
              sb.controlPlane.netns);
          route(sa, sb);
          route(sb, sa);
          if (!sa.links.contains(b)) {
            sa.links.add(b);
          }
          if (!sb.links.contains(a)) {
            sb.links.add(a);
          }
          lab.progress().accept("linked: " + a + " <-> " + b);
        });
  }

  /** Routes, in {@code s}'s router and nodes, towards {@code peer}. */
  private void route(LabState s, LabState peer) {
    String cp = s.controlPlane.netns;
    String dev = linkName(peer.clusterId);
    Host.check(
        "nsenter",
        "--net=" + Host.netnsPath(cp),
        "sh",
        "-c",
        "echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding");
    Lab.ipIn(cp, "-6", "addr", "replace", linkLocal(s.clusterId) + "/64", "dev", dev, "nodad");
    Lab.ipIn(cp, "link", "set", dev, "up");
    String gw4 = peer.controlPlane.address4;
    for (String net : List.of("172.30." + peer.clusterId + ".0/24", peer.podCidr)) {
      Lab.ipIn(cp, "route", "replace", net, "via", gw4, "dev", dev, "onlink");
    }
    for (String net : List.of(underlay6(peer.clusterId), peer.podCidr6)) {
      Lab.ipIn(cp, "-6", "route", "replace", net, "via", linkLocal(peer.clusterId), "dev", dev);
    }
    for (LabState.Member n : s.nodes) {
      routeNode(s, n, peer);
    }
  }

  private static String underlay6(int clusterId) {
    return String.format("fd00:ac1e:%x::/64", clusterId);
  }

  /** A node of {@code s} reaches {@code peer}'s underlay via its own router. */
  static void routeNode(LabState s, LabState.Member n, LabState peer) {
    Lab.ipIn(
        n.netns,
        "route",
        "replace",
        "172.30." + peer.clusterId + ".0/24",
        "via",
        s.controlPlane.address4);
    Lab.ipIn(
        n.netns,
        "-6",
        "route",
        "replace",
        underlay6(peer.clusterId),
        "via",
        s.controlPlane.address6);
  }

  /** Starts a lab's clustermesh service (its certificate and etcd access first); idempotent. */
  public void enable(String name) {
    try (FileLock lock = dir.lock(name)) {
      LabState s = running(name);
      enable(s);
      dir.save(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void enable(LabState s) {
    LabState.Proc p = s.processes.get("clustermesh");
    if (s.clustermesh && p != null && p.alive()) {
      lab.progress().accept("clustermesh of " + s.name + " is running already");
      return;
    }
    prepare(s);
    start(s);
  }

  /** The clustermesh service's certificate and etcd access. */
  private void prepare(LabState s) {
    Path home = dir.of(s.name);
    if (!s.insecure) {
      PeerIdentity id = PeerIdentity.service("clustermesh");
      LabPki.of(home, s.name, Lab.certValidity(s))
          .issue(id, List.of(s.controlPlane.address4, s.controlPlane.address6));
      for (List<String> cmd : EtcdAccess.etcdctlAdmit(id)) {
        lab.etcdctl(s, cmd, true);
      }
    }
    s.clustermesh = true;
  }

  /** (Re)starts the clustermesh service with the lab's peers, and waits until it is ready. */
  void start(LabState s) {
    spawn(s);
    awaitReady(s);
  }

  private void awaitReady(LabState s) {
    lab.awaitHttp(s, "clustermesh", s.controlPlane.netns, Lab.health(s, Lab.CLUSTERMESH_PORT), 120);
    lab.progress()
        .accept(
            "      clustermesh of "
                + s.name
                + " ready on "
                + s.controlPlane.address4
                + ":"
                + Lab.CLUSTERMESH_PORT
                + (s.meshPeers.isEmpty()
                    ? ""
                    : " (peers: " + String.join(", ", s.meshPeers.keySet()) + ")"));
  }

  /** Stops the clustermesh service if it runs, and starts it with the lab's peers. */
  private void spawn(LabState s) {
    LabState.Proc p = s.processes.get("clustermesh");
    if (p != null && p.alive()) {
      Host.stop(List.of(p.pid), 15);
    }
    Path home = dir.of(s.name);
    List<String> own = new ArrayList<>();
    own.add("-Dporin.cluster.name=" + s.name);
    own.add("-Dporin.clustermesh.cluster-id=" + s.clusterId);
    own.add("-Dporin.clustermesh.pod-cidrs=" + s.podCidr + "," + s.podCidr6);
    if (!s.meshPeers.isEmpty()) {
      List<String> peers = new ArrayList<>();
      List<String> cas = new ArrayList<>();
      s.meshPeers.forEach(
          (peer, address) -> {
            peers.add(peer + "=" + address);
            cas.add(peer + "=" + peerCa(home, peer));
          });
      own.add("-Dporin.clustermesh.peers=" + String.join(",", peers));
      if (!s.insecure) {
        own.add("-Dporin.clustermesh.peer-cas=" + String.join(",", cas));
      }
    }
    if (!s.insecure && !s.meshPeers.isEmpty()) {
      // this service's port alone trusts the peers' CAs too (their clustermesh services call it);
      // its own connections (etcd, the identity service) trust the lab's CA only
      List<String> cas = new ArrayList<>();
      s.meshPeers.keySet().forEach(peer -> cas.add(peerCa(home, peer).toString()));
      own.add("-Dporin.tls.client-cas=" + String.join(",", cas));
    }
    lab.startService(
        s,
        "clustermesh",
        s.controlPlane.netns,
        List.of(
            "-Dporin.etcd.endpoints=" + Lab.etcdUrl(s),
            "-Dquarkus.http.host=0.0.0.0",
            "-Dporin-lab.dir=" + home),
        own);
  }

  static Path peerCa(Path home, String peer) {
    return home.resolve("mesh/" + peer + "-ca.crt");
  }

  /**
   * Connects two labs in both directions: each trusts the other's CA for its clustermesh service,
   * imports the other, and this returns when both have imported each other (or says why not).
   */
  public void connect(String a, String b, int timeoutSeconds) {
    if (a.equals(b)) {
      throw new LabException("--destination-context: a cluster cannot be connected to itself");
    }
    long t0 = System.nanoTime();
    withBoth(
        a,
        b,
        (sa, sb) -> {
          if (!sa.links.contains(b)) {
            throw new LabException(
                "labs "
                    + a
                    + " and "
                    + b
                    + " have no path between their networks: link them first (porin lab link "
                    + a
                    + " "
                    + b
                    + ")");
          }
          if (sa.insecure != sb.insecure) {
            throw new LabException(
                "lab "
                    + (sa.insecure ? a : b)
                    + " has no certificates (--insecure); the other has");
          }
          for (LabState s : List.of(sa, sb)) {
            if (!s.clustermesh) {
              lab.progress().accept("enabling clustermesh in " + s.name);
              prepare(s);
            }
          }
          exchange(sa, sb);
          exchange(sb, sa);
          lab.progress().accept("(re)starting both clustermesh services with their new peers");
          spawn(sa);
          spawn(sb);
          awaitReady(sa);
          awaitReady(sb);
          lab.progress().accept("waiting for each cluster to import the other");
          awaitImported(sa, b, timeoutSeconds);
          awaitImported(sb, a, timeoutSeconds);
        });
    lab.progress()
        .accept(
            String.format("connected: %s <-> %s in %.1f s", a, b, (System.nanoTime() - t0) / 1e9));
  }

  /** {@code s} imports {@code peer}: its CA and address. */
  private void exchange(LabState s, LabState peer) {
    Path home = dir.of(s.name);
    if (!s.insecure) {
      try {
        Path ca = peerCa(home, peer.name);
        Files.createDirectories(ca.getParent());
        Files.copy(
            LabPki.caFile(dir.of(peer.name)),
            ca,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    s.meshPeers.put(peer.name, peer.controlPlane.address4 + ":" + Lab.CLUSTERMESH_PORT);
  }

  private void awaitImported(LabState s, String peer, int timeoutSeconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (System.nanoTime() < deadline) {
      Host.Result r =
          lab.etcdctl(s, List.of("get", "--print-value-only", Keys.Mesh.revision(peer)), false);
      if (r.ok() && !r.output().isBlank()) {
        lab.progress().accept("      " + s.name + " imported " + peer);
        return;
      }
      Host.sleep(200);
    }
    LabState.Proc p = s.processes.get("clustermesh");
    throw new LabException(
        s.name
            + " did not import "
            + peer
            + " within "
            + timeoutSeconds
            + " s; the clustermesh service's log says:\n"
            + (p == null ? "(no log)" : Lab.tail(p.log)));
  }

  /**
   * Disconnects two labs: each stops importing the other, then removes what it imported (its
   * identities, endpoints, nodes and services leave the agents' maps and routes).
   */
  public void disconnect(String a, String b) {
    withBoth(
        a,
        b,
        (sa, sb) -> {
          List<LabState[]> pairs = new ArrayList<>();
          for (LabState[] pair : List.of(new LabState[] {sa, sb}, new LabState[] {sb, sa})) {
            if (pair[0].meshPeers.remove(pair[1].name) == null) {
              lab.progress().accept(pair[0].name + " was not connected to " + pair[1].name);
            } else {
              pairs.add(pair);
            }
          }
          // first no importer runs any more, then what they imported goes
          pairs.forEach(pair -> spawn(pair[0]));
          pairs.forEach(pair -> awaitReady(pair[0]));
          for (LabState[] pair : pairs) {
            LabState s = pair[0];
            String peer = pair[1].name;
            Host.Result r =
                lab.etcdctl(s, List.of("del", "--prefix", Keys.Mesh.ofCluster(peer)), false);
            if (!r.ok()) {
              throw new LabException(
                  "removing what " + s.name + " imported from " + peer + ": " + r.output().strip());
            }
            try {
              Files.deleteIfExists(peerCa(dir.of(s.name), peer));
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
            lab.progress()
                .accept(
                    "      "
                        + s.name
                        + ": "
                        + peer
                        + " disconnected, "
                        + r.output().strip()
                        + " imported keys removed");
          }
        });
  }

  private LabState running(String name) {
    LabState s =
        dir.load(name).orElseThrow(() -> new LabException("there is no lab named " + name));
    if (!"up".equals(s.status) || !Lab.running(s)) {
      throw new LabException("lab " + name + " is not up");
    }
    return s;
  }

  private interface Both {
    void accept(LabState a, LabState b);
  }

  /** Runs {@code body} holding both labs' locks (taken in name order), then saves both. */
  private void withBoth(String a, String b, Both body) {
    String first = a.compareTo(b) < 0 ? a : b;
    String second = first.equals(a) ? b : a;
    try (FileLock l1 = dir.lock(first);
        FileLock l2 = dir.lock(second)) {
      LabState sa = running(a);
      LabState sb = running(b);
      try {
        body.accept(sa, sb);
      } finally {
        dir.save(sa);
        dir.save(sb);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
