package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Two linked 2-node labs, {@value #EAST} (cluster ID 1) and {@value #WEST} (ID 2, pods in
 * 10.201.0.0/16), both with WireGuard on, joined with {@code porin clustermesh connect}; seed 04 (a
 * global service and a policy whose selector has no cluster) applied unchanged to both. Pods reach
 * pods of the other cluster by address as the policy allows and no further, through WireGuard (the
 * link between the clusters carries no pod address in clear); the global service has both clusters'
 * backends (affinity local prefers this cluster's while one is ready); the dropped cross-cluster
 * pair is in {@code porin observe} with its policy and the cluster; {@code policy trace} names a
 * remote pod; the clustermesh service killed while a cross-cluster TCP transfer runs: the transfer
 * continues, a pod made meanwhile appears after the restart, nothing is duplicated; disconnect
 * removes the peer's endpoints, routes and backends.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Tag("privileged")
class ClusterMeshE2EIT {
  static final String EAST = "meast";
  static final String WEST = "mwest";
  static final LabHarness lab = new LabHarness("e2emesh");
  static final Path SEED = Repo.ROOT.resolve("examples/seed/04-clustermesh-global-service.yaml");
  static Map<String, LabHarness.Pod> east;
  static Map<String, LabHarness.Pod> west;
  static double connectSeconds;

  static String pod(String cluster, String name, String app, String node, boolean port) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: production, labels: {app: %s}}
        spec:
          nodeName: %s-%s
          containers:
          - name: c
            ports: [%s]
        ---
        """
        .formatted(name, app, cluster, node, port ? "{containerPort: 8080}" : "");
  }

  static String scenario(String cluster) {
    return "apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n---\n"
        + pod(cluster, "frontend-" + cluster, "frontend", "node1", true)
        + pod(cluster, "backend-" + cluster, "backend", "node2", true)
        + pod(cluster, "ledger-" + cluster, "ledger", "node2", true);
  }

  static String in(String cluster, String... args) throws Exception {
    List<String> a = new ArrayList<>(List.of("--context", cluster));
    a.addAll(List.of(args));
    return lab.ok(a.toArray(String[]::new));
  }

  static JsonNode json(String cluster, String... args) throws Exception {
    List<String> a = new ArrayList<>(List.of(args));
    a.addAll(List.of("-o", "json"));
    return LabHarness.JSON.readTree(in(cluster, a.toArray(String[]::new)));
  }

  /** A cluster's pods by name (every pod of these tests is in namespace production). */
  static Map<String, LabHarness.Pod> pods(String cluster) throws Exception {
    Map<String, LabHarness.Pod> m = new HashMap<>();
    lab.podsOf(cluster).values().forEach(p -> m.put(p.name(), p));
    return m;
  }

  static void apply(String cluster, String yaml) throws Exception {
    Path f = Files.createTempFile(LabHarness.TARGET, "mesh", ".yaml");
    try {
      Files.writeString(f, yaml);
      in(cluster, "apply", "-f", f.toString());
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @BeforeAll
  static void up() throws Exception {
    lab.porin("lab", "down", "--name", EAST);
    lab.porin("lab", "down", "--name", WEST);
    // WireGuard on in both clusters: traffic between them goes through it too
    lab.up(EAST, 2, 1, "--encryption", "wireguard");
    lab.up(WEST, 2, 2, "--pod-cidr", "10.201.0.0/16", "--encryption", "wireguard");
    for (String c : List.of(EAST, WEST)) {
      apply(c, scenario(c));
      in(c, "apply", "-f", SEED.toString());
      in(c, "policy", "wait", "--timeout", "60s");
    }
    lab.ok("lab", "link", EAST, WEST);
    JsonNode connected =
        json(EAST, "clustermesh", "connect", "--destination-context", WEST, "--timeout", "90");
    connectSeconds = connected.path("seconds").asDouble();
    east = pods(EAST);
    west = pods(WEST);
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(EAST);
    lab.downAndCheckGone(WEST);
  }

  static JsonNode status(String cluster) throws Exception {
    return json(cluster, "clustermesh", "status", "--wait", "--wait-duration", "60s");
  }

  /** Waits until {@code check} holds, re-reading through {@code read}. */
  static <T> T await(String what, ThrowingSupplier<T> read, java.util.function.Predicate<T> check)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    T last = read.get();
    while (!check.test(last)) {
      assertThat(System.nanoTime()).as("%s; last seen: %s", what, last).isLessThan(deadline);
      Thread.sleep(300);
      last = read.get();
    }
    return last;
  }

  interface ThrowingSupplier<T> {
    T get() throws Exception;
  }

  /** Every backend address the node's load balancer has for the global service (IPv4). */
  static Set<String> globalBackends(String cluster) throws Exception {
    Set<String> out = new HashSet<>();
    for (JsonNode f : json(cluster, "service", "list").path("frontends")) {
      if (f.path("service").asText().equals("production/global-backend")) {
        for (JsonNode b : f.path("backends")) {
          String a = b.path("address").asText(); // 10.200.0.2:8080/TCP, [fd00::2]:8080/TCP
          if (!a.startsWith("[")) {
            out.add(a.substring(0, a.lastIndexOf(':')));
          }
        }
      }
    }
    return out;
  }

  @Test
  @Order(1)
  void eachClusterImportedTheOther() throws Exception {
    assertThat(connectSeconds).as("connect until both imported each other").isPositive();
    for (String[] pair : new String[][] {{EAST, WEST}, {WEST, EAST}}) {
      JsonNode s = status(pair[0]);
      assertThat(s.path("cluster").asText()).isEqualTo(pair[0]);
      assertThat(s.path("peers")).hasSize(1);
      JsonNode peer = s.path("peers").get(0);
      assertThat(peer.path("name").asText()).isEqualTo(pair[1]);
      assertThat(peer.path("synced").asBoolean()).as(peer.toString()).isTrue();
      assertThat(peer.path("clusterId").asInt()).isEqualTo(pair[1].equals(EAST) ? 1 : 2);
      assertThat(peer.path("refused").asLong()).isZero();
      // every pod of the other cluster (two addresses each), no more
      int pods = (pair[1].equals(EAST) ? east : west).size();
      assertThat(peer.path("endpoints").asLong()).isEqualTo(2L * pods);
      assertThat(s.path("globalServices").asLong()).isEqualTo(1);
    }
  }

  @Test
  @Order(2)
  void podsReachTheOtherClustersPodsAsThePolicyAllows() throws Exception {
    LabHarness.Pod frontend = east.get("frontend-" + EAST);
    LabHarness.Pod backendW = west.get("backend-" + WEST);
    LabHarness.Pod ledgerW = west.get("ledger-" + WEST);
    List<Boolean> r =
        LabHarness.probeAll(
            frontend,
            List.of(
                "tcp " + backendW.ipv4() + " 8080",
                "tcp " + backendW.ipv6() + " 8080",
                "tcp " + east.get("backend-" + EAST).ipv4() + " 8080",
                "tcp " + ledgerW.ipv4() + " 8080",
                "tcp " + ledgerW.ipv6() + " 8080",
                "tcp " + east.get("ledger-" + EAST).ipv4() + " 8080"),
            1500);
    assertThat(r)
        .as(
            "east frontend to west backend (v4, v6), east backend, west ledger (v4, v6), east ledger")
        .containsExactly(true, true, true, false, false, false);
    // and the other way round
    assertThat(
            LabHarness.probeAll(
                west.get("frontend-" + WEST),
                List.of(
                    "tcp " + east.get("backend-" + EAST).ipv4() + " 8080",
                    "tcp " + east.get("ledger-" + EAST).ipv4() + " 8080"),
                1500))
        .containsExactly(true, false);
  }

  @Test
  @Order(3)
  void trafficBetweenTheClustersGoesThroughWireGuard() throws Exception {
    // every east node has west's nodes as WireGuard peers
    for (String n : List.of(EAST + "-node1", EAST + "-node2")) {
      JsonNode status = json(EAST, "encrypt", "status", "--node", n);
      String peers = status.toString();
      assertThat(peers)
          .contains(WEST + "/" + WEST + "-node1")
          .contains(WEST + "/" + WEST + "-node2");
    }
    Path pcap = LabHarness.TARGET.resolve("mesh-link.txt");
    Process tcpdump =
        new ProcessBuilder(
                "nsenter", "--net=/run/netns/" + EAST + "-cp", "tcpdump", "-n", "-l", "-i", "mesh2")
            .redirectErrorStream(false)
            .redirectOutput(pcap.toFile())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      Thread.sleep(1000);
      LabHarness.Pod backendW = west.get("backend-" + WEST);
      assertThat(
              LabHarness.probeAll(
                  east.get("frontend-" + EAST),
                  List.of("tcp " + backendW.ipv4() + " 8080", "tcp " + backendW.ipv6() + " 8080"),
                  2000))
          .containsExactly(true, true);
      Thread.sleep(500);
    } finally {
      tcpdump.destroy();
      tcpdump.waitFor(5, TimeUnit.SECONDS);
    }
    String seen = Files.readString(pcap);
    assertThat(seen).as("packets on the link between the clusters").contains(".51871: UDP");
    for (LabHarness.Pod p : List.of(east.get("frontend-" + EAST), west.get("backend-" + WEST))) {
      assertThat(seen).as("pod addresses in clear on the link").doesNotContain(p.ipv4() + ".");
    }
    assertThat(seen).doesNotContain(".8080");
  }

  @Test
  @Order(4)
  void theDroppedCrossClusterPairIsObservedWithItsPolicyAndCluster() throws Exception {
    String ledger = west.get("ledger-" + WEST).ipv4();
    JsonNode drop =
        await(
            "a dropped flow to west's ledger in east's relay",
            () -> {
              for (String line :
                  in(
                          EAST,
                          "observe",
                          "--verdict",
                          "DROPPED",
                          "--cluster",
                          WEST,
                          "--last",
                          "200",
                          "-o",
                          "json")
                      .lines()
                      .toList()) {
                JsonNode f = LabHarness.JSON.readTree(line).path("flow");
                if (f.path("IP").path("destination").asText().equals(ledger)) {
                  return f;
                }
              }
              return null;
            },
            f -> f != null);
    assertThat(drop.path("source").path("cluster_name").asText()).isEqualTo(EAST);
    assertThat(drop.path("destination").path("cluster_name").asText()).isEqualTo(WEST);
    assertThat(drop.path("destination").path("pod_name").asText()).isEqualTo("ledger-" + WEST);
    assertThat(drop.path("egress_denied_by").toString()).contains("allow-cross-cluster");
    // no flow of this cluster's own pods passes a --cluster west filter as a west pod
    for (String line :
        in(EAST, "observe", "--cluster", WEST, "--last", "200", "-o", "json").lines().toList()) {
      JsonNode r = LabHarness.JSON.readTree(line);
      if (r.has("node_status")) {
        continue; // the nodes the relay asked, first
      }
      JsonNode f = r.path("flow");
      assertThat(
              List.of(
                  f.path("source").path("cluster_name").asText(),
                  f.path("destination").path("cluster_name").asText()))
          .as(line)
          .contains(WEST);
    }
    // the trace across clusters says the same
    JsonNode denied = traceFromFrontendTo(WEST + "/production/ledger-" + WEST);
    assertThat(denied.path("verdict").asText()).isEqualTo("DENY");
    JsonNode allowed = traceFromFrontendTo(WEST + "/production/backend-" + WEST);
    assertThat(allowed.path("verdict").asText()).isEqualTo("ALLOW");
    assertThat(allowed.path("egress").toString()).contains("allow-cross-cluster");
  }

  /** {@code porin policy trace} in east from its frontend to a pod, port 8080. */
  static JsonNode traceFromFrontendTo(String pod) throws Exception {
    return json(
        EAST,
        "policy",
        "trace",
        "--from-pod",
        "production/frontend-" + EAST,
        "--to-pod",
        pod,
        "--port",
        "8080");
  }

  @Test
  @Order(5)
  void theGlobalServiceHasBothClustersBackendsAndAffinityLocalPrefersThisOnes() throws Exception {
    String be = east.get("backend-" + EAST).ipv4();
    String bw = west.get("backend-" + WEST).ipv4();
    await("both backends in east", () -> globalBackends(EAST), b -> b.equals(Set.of(be, bw)));
    await("both backends in west", () -> globalBackends(WEST), b -> b.equals(Set.of(be, bw)));
    // connections to the service from east reach both clusters' backends
    String vip = serviceIp(EAST);
    Set<String> answered = new HashSet<>();
    for (int i = 0; i < 30 && answered.size() < 2; i++) {
      answered.add(whois(east.get("frontend-" + EAST), vip));
    }
    assertThat(answered)
        .containsExactlyInAnyOrder("production/backend-" + EAST, "production/backend-" + WEST);

    String local =
        Files.readString(SEED)
            .replace(
                "    service.cilium.io/shared: \"true\"",
                "    service.cilium.io/shared: \"true\"\n    service.cilium.io/affinity: local");
    apply(EAST, local);
    await("only the local backend", () -> globalBackends(EAST), b -> b.equals(Set.of(be)));
    // with no local backend left, the remote one serves
    in(EAST, "delete", "pod", "-n", "production", "backend-" + EAST);
    await("the remote backend", () -> globalBackends(EAST), b -> b.equals(Set.of(bw)));
    assertThat(whois(east.get("frontend-" + EAST), vip)).isEqualTo("production/backend-" + WEST);
    // back to the seed as it is
    in(EAST, "apply", "-f", SEED.toString());
    apply(EAST, pod(EAST, "backend-" + EAST, "backend", "node2", true));
    east = pods(EAST);
    String again = east.get("backend-" + EAST).ipv4();
    await("both again", () -> globalBackends(EAST), b -> b.equals(Set.of(again, bw)));
  }

  static String serviceIp(String cluster) throws Exception {
    for (JsonNode s : json(cluster, "get", "services", "-A").path("services")) {
      if (s.path("name").asText().equals("global-backend")) {
        for (JsonNode ip : s.path("clusterIPs")) {
          if (!ip.asText().contains(":")) {
            return ip.asText();
          }
        }
      }
    }
    throw new AssertionError("no global-backend service in " + cluster);
  }

  /** Which pod answers a connection to {@code host}:8080 ("namespace/name"). */
  static String whois(LabHarness.Pod from, String host) throws Exception {
    Process p =
        new ProcessBuilder(
                "nsenter",
                "--net=" + from.netns(),
                LabHarness.PORIN_POD.toString(),
                "probe",
                "tcp",
                host,
                "8080",
                "2000")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  @Test
  @Order(6)
  void theClustermeshServiceRestartedUnderTrafficLosesNothing() throws Exception {
    // a west pod without a server of its own, selected by the policy (app=backend), running iperf3
    apply(WEST, pod(WEST, "stream-" + WEST, "backend", "node1", false));
    west = pods(WEST);
    LabHarness.Pod server = west.get("stream-" + WEST);
    await(
        "the stream pod in east's ipcache",
        () -> status(EAST).path("peers").get(0).path("endpoints").asLong(),
        n -> n == 2L * west.size());
    Path serverLog = LabHarness.TARGET.resolve("mesh-iperf-server.log");
    Path clientLog = LabHarness.TARGET.resolve("mesh-iperf-client.log");
    Process iperf = LabHarness.inPod(server, serverLog, "iperf3", "-s", "-1", "-p", "8080");
    try {
      Thread.sleep(500);
      Process client =
          LabHarness.inPod(
              east.get("frontend-" + EAST),
              clientLog,
              "iperf3",
              "-c",
              server.ipv4(),
              "-p",
              "8080",
              "-t",
              "10",
              "-i",
              "1",
              "-J");
      Thread.sleep(2000);
      lab.ok("--context", EAST, "lab", "restart", "clustermesh", "--kill");
      // a pod made in west while east's importer was away appears in east after the restart
      apply(WEST, pod(WEST, "late-" + WEST, "frontend", "node2", true));
      assertThat(client.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(client.exitValue()).as(Files.readString(clientLog)).isZero();
      JsonNode result = LabHarness.JSON.readTree(Files.readString(clientLog));
      List<Double> perSecond = new ArrayList<>();
      result.path("intervals").forEach(i -> perSecond.add(i.path("sum").path("bytes").asDouble()));
      assertThat(perSecond).as("bytes per second").hasSizeGreaterThanOrEqualTo(9);
      assertThat(perSecond.stream().filter(x -> x == 0).count())
          .as("seconds without data: %s", perSecond)
          .isZero();
    } finally {
      iperf.destroy();
    }
    west = pods(WEST);
    JsonNode peer =
        await(
            "west's late pod in east, nothing duplicated",
            () -> status(EAST).path("peers").get(0),
            p -> p.path("endpoints").asLong() == 2L * west.size() && p.path("synced").asBoolean());
    assertThat(peer.path("refused").asLong()).isZero();
    assertThat(
            LabHarness.probeAll(
                west.get("late-" + WEST),
                List.of("tcp " + east.get("backend-" + EAST).ipv4() + " 8080"),
                1500))
        .containsExactly(true);
  }

  static void etcdctl(String lab, String... args) throws Exception {
    List<String> argv =
        new ArrayList<>(
            List.of(
                "nsenter",
                "--net=/var/run/netns/" + lab + "-cp",
                "etcdctl",
                "--endpoints",
                "https://127.0.0.1:2379"));
    argv.addAll(LabHarness.adminTls(lab));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  static double refusedRecords(String node) throws Exception {
    String metrics = LabHarness.curlTls(EAST, node, 9404, "/q/metrics");
    for (String line : metrics.lines().toList()) {
      if (line.startsWith("porin_ipcache_refused_records_total")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no porin_ipcache_refused_records_total in " + node + "'s metrics");
  }

  @Test
  @Order(7)
  void importedRecordsClaimingThisNodesOwnNetworksAreNotBelieved() throws Exception {
    // as if a peer (or anyone with the clustermesh service's etcd role) claimed part of east's
    // underlay as its pod CIDR, with a node routing it and a pod at east's router address
    String node = EAST + "-node1";
    double before = refusedRecords(node);
    int evilId = 9 << 16 | 300;
    etcdctl(EAST, "put", "/porin/v1/mesh/evil/info", "{\"id\":9,\"podCidrs\":[\"172.30.1.0/25\"]}");
    etcdctl(
        EAST,
        "put",
        "/porin/v1/mesh/evil/state/identities/id/" + evilId,
        "k8s:app=evil;k8s:io.cilium.k8s.policy.cluster=evil");
    etcdctl(
        EAST,
        "put",
        "/porin/v1/mesh/evil/state/nodes/evil-n1",
        "{\"name\":\"evil-n1\",\"addresses\":[\"172.30.2.50\"],\"ipv4Cidrs\":[\"172.30.1.0/26\"]}");
    etcdctl(
        EAST,
        "put",
        "/porin/v1/mesh/evil/state/endpoints/evil-n1/172.30.1.1",
        "{\"identity\":" + evilId + ",\"namespace\":\"x\",\"pod\":\"p\"}");
    try {
      await("the forged records refused", () -> refusedRecords(node), n -> n >= before + 2);
      Process ip = new ProcessBuilder("ip", "-n", node, "route").start();
      String routes = new String(ip.getInputStream().readAllBytes());
      assertThat(ip.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(routes).doesNotContain("172.30.1.0/26");
      // the lab's router is still reached as it was (its traffic not sent to the forged node)
      assertThat(
              LabHarness.probeAll(
                  east.get("frontend-" + EAST),
                  List.of("tcp " + west.get("backend-" + WEST).ipv4() + " 8080"),
                  1500))
          .containsExactly(true);
    } finally {
      etcdctl(EAST, "del", "--prefix", "/porin/v1/mesh/evil/");
    }
  }

  @Test
  @Order(8)
  void disconnectRemovesWhatWasImported() throws Exception {
    String bw = west.get("backend-" + WEST).ipv4();
    in(EAST, "clustermesh", "disconnect", "--destination-context", WEST);
    JsonNode s = json(EAST, "clustermesh", "status");
    assertThat(s.path("peers")).isEmpty();
    await("west's backend gone from east", () -> globalBackends(EAST), b -> !b.contains(bw));
    for (int n = 1; n <= 2; n++) {
      Process ip = new ProcessBuilder("ip", "-n", EAST + "-node" + n, "route").start();
      String routes = new String(ip.getInputStream().readAllBytes());
      assertThat(ip.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(routes).as("routes of east's node %d", n).doesNotContain("10.201.");
    }
    assertThat(
            LabHarness.probeAll(east.get("frontend-" + EAST), List.of("tcp " + bw + " 8080"), 1000))
        .containsExactly(false);
  }
}
