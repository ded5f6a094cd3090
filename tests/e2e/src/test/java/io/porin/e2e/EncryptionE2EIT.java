package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Transparent encryption in a 3-node lab with WireGuard on (wireguard-go: this machine has no
 * WireGuard module): pod traffic between nodes (TCP and UDP, IPv4 and IPv6) is on the underlay only
 * as WireGuard (a capture on the lab's bridge holds no pod address and no payload in clear),
 * same-node traffic is not encrypted, flows say which; seed 06 applied unchanged makes its
 * namespace strict (with a peer's key gone its traffic is dropped with 195, never sent in clear);
 * an agent killed and restarted keeps its key and peers; a key rotation keeps a running TCP
 * transfer; a node added later is reached encrypted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Tag("privileged")
class EncryptionE2EIT {
  static final String LAB = "e2ewg";
  static final int CLUSTER_ID = 6;
  static LabHarness lab = new LabHarness(LAB);
  static Map<String, LabHarness.Pod> pods;

  static String pod(String ns, String name, String node) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: %s, labels: {app: %s}}
        spec:
          nodeName: %s-%s
          containers:
          - name: c
            ports: [{containerPort: 8080}, {containerPort: 5353, protocol: UDP}]
        ---
        """
        .formatted(name, ns, name, LAB, node);
  }

  static final String SCENARIO =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: t}\n---\n"
          + "apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n---\n"
          + pod("t", "a", "node1")
          + pod("t", "b", "node2")
          + pod("t", "c", "node1")
          + pod("t", "e", "node3")
          + pod("production", "p1", "node1")
          + pod("production", "p2", "node2");

  @BeforeAll
  static void up() throws Exception {
    // the agents run with the capabilities the Kubernetes manifest grants them, and no others
    lab.up(
        LAB,
        3,
        CLUSTER_ID,
        "--encryption",
        "wireguard",
        "--agent-capabilities",
        LabHarness.manifestAgentCapabilities());
    lab.apply(SCENARIO);
    pods = lab.pods();
    lab.ok("status", "--wait", "60s");
  }

  @AfterAll
  static void down() throws Exception {
    List<String> inodes = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      Path ns = Path.of("/run/netns/" + LAB + "-node" + i);
      if (Files.exists(ns)) {
        inodes.add(Long.toString((Long) Files.getAttribute(ns, "unix:ino")));
      }
    }
    lab.downAndCheckGone(LAB);
    // wireguard-go outlives agents by design: lab down must have stopped the lab's
    for (ProcessHandle p : ProcessHandle.allProcesses().toList()) {
      if (p.info().command().orElse("").endsWith("wireguard-go")) {
        try {
          String net = Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/net")).toString();
          assertThat(inodes).as("wireguard-go %d in %s", p.pid(), net).noneMatch(net::contains);
        } catch (java.io.IOException gone) {
          // exited meanwhile
        }
      }
    }
  }

  static LabHarness.Pod p(String key) {
    return pods.get(key);
  }

  static String node(int i) {
    return LAB + "-node" + i;
  }

  static String address(int node) {
    return "172.30." + CLUSTER_ID + "." + (10 + node);
  }

  /** A capture on the underlay bridge while {@code traffic} runs: tcpdump's text and raw bytes. */
  record Capture(String text, byte[] raw) {}

  static Capture capture(ThrowingRunnable traffic) throws Exception {
    Path pcap = LabHarness.TARGET.resolve(LAB + "-underlay.pcap");
    Files.deleteIfExists(pcap);
    Process tcpdump =
        new ProcessBuilder(
                "nsenter",
                "--net=/run/netns/" + LAB + "-cp",
                "tcpdump",
                "-i",
                "br0",
                "-nn",
                "-U",
                "--immediate-mode",
                "-s",
                "0",
                "-w",
                pcap.toString())
            .redirectErrorStream(true)
            .redirectOutput(LabHarness.TARGET.resolve(LAB + "-tcpdump.log").toFile())
            .start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!Files.exists(pcap) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      Thread.sleep(300);
      traffic.run();
      Thread.sleep(1000);
    } finally {
      tcpdump.destroy();
      tcpdump.waitFor(10, TimeUnit.SECONDS);
    }
    Process read = new ProcessBuilder("tcpdump", "-nn", "-r", pcap.toString()).start();
    String text = new String(read.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    read.waitFor(30, TimeUnit.SECONDS);
    return new Capture(text, Files.readAllBytes(pcap));
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  private static final Pattern IP_LINE =
      Pattern.compile(
          "^\\S+ IP6? ((?:\\d+\\.){3}\\d+|[0-9a-f:]+)(?:\\.(\\d+))?"
              + " > ((?:\\d+\\.){3}\\d+|[0-9a-f:]+)(?:\\.(\\d+))?: (.*)$");

  /** Packets between two nodes' addresses that are not WireGuard (UDP 51871), as text lines. */
  static List<String> clearBetweenNodes(Capture c) {
    List<String> nodes = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      nodes.add(address(i));
      nodes.add("fd00:ac1e:" + CLUSTER_ID + "::" + Integer.toHexString(10 + i));
    }
    List<String> clear = new ArrayList<>();
    for (String line : c.text().lines().toList()) {
      Matcher m = IP_LINE.matcher(line);
      if (!m.matches() || !nodes.contains(m.group(1)) || !nodes.contains(m.group(3))) {
        continue;
      }
      boolean wg =
          m.group(5).startsWith("UDP")
              && ("51871".equals(m.group(2)) || "51871".equals(m.group(4)));
      if (!wg) {
        clear.add(line);
      }
    }
    return clear;
  }

  static List<String> linesWith(Capture c, String... addresses) {
    return c.text()
        .lines()
        .filter(
            l ->
                List.of(addresses).stream()
                    .anyMatch(
                        a ->
                            l.contains(" " + a + ".")
                                || l.contains(" " + a + ":")
                                || l.contains(" " + a + " ")))
        .toList();
  }

  static boolean contains(byte[] hay, String needle) {
    return new String(hay, StandardCharsets.ISO_8859_1).contains(needle);
  }

  static List<String> targets(LabHarness.Pod to) {
    return List.of(
        "tcp " + to.ipv4() + " 8080",
        "tcp " + to.ipv6() + " 8080",
        "udp " + to.ipv4() + " 5353",
        "udp " + to.ipv6() + " 5353");
  }

  /** Probes until all answer (a new peer's first handshake may take a moment). */
  static void reachable(LabHarness.Pod from, List<String> targets) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<Boolean> r = List.of();
    while (System.nanoTime() < deadline) {
      r = LabHarness.probeAll(from, targets, 2000);
      if (!r.contains(false)) {
        return;
      }
    }
    throw new AssertionError(from.key() + " -> " + targets + ": " + r);
  }

  static JsonNode encryptStatus(String node) throws Exception {
    JsonNode j =
        LabHarness.JSON.readTree(lab.ok("encrypt", "status", "--node", node, "-o", "json"));
    return j.isArray() ? j.get(0) : j;
  }

  static List<JsonNode> flows(String... filter) throws Exception {
    List<String> args = new ArrayList<>(List.of("observe", "-o", "json", "--last", "200"));
    args.addAll(List.of(filter));
    List<JsonNode> out = new ArrayList<>();
    for (String line : lab.ok(args.toArray(String[]::new)).lines().toList()) {
      if (!line.isBlank()) {
        JsonNode j = LabHarness.JSON.readTree(line);
        if (!j.has("node_status")) { // the relay names the nodes it asked first
          out.add(j.has("flow") ? j.get("flow") : j);
        }
      }
    }
    return out;
  }

  @Test
  @Order(1)
  void podTrafficBetweenNodesIsOnlyWireGuardOnTheUnderlay() throws Exception {
    LabHarness.Pod a = p("t/a");
    LabHarness.Pod b = p("t/b");
    LabHarness.Pod c = p("t/c");
    reachable(a, targets(b)); // the peers' first handshakes
    Capture cap =
        capture(
            () -> {
              assertThat(LabHarness.probeAll(a, targets(b), 3000)).containsOnly(true);
              assertThat(LabHarness.probeAll(b, targets(a), 3000)).containsOnly(true);
              assertThat(LabHarness.probeAll(a, targets(c), 3000))
                  .as("same node")
                  .containsOnly(true);
            });
    List<String> wg =
        cap.text()
            .lines()
            .filter(l -> l.contains(".51871: UDP") || l.contains(".51871 >"))
            .toList();
    assertThat(wg).as("WireGuard between the nodes").isNotEmpty();
    assertThat(clearBetweenNodes(cap)).as("anything else between nodes").isEmpty();
    assertThat(linesWith(cap, a.ipv4(), b.ipv4(), a.ipv6(), b.ipv6(), c.ipv4(), c.ipv6()))
        .as("a pod address in clear")
        .isEmpty();
    // porin-pod's TCP probe sends an HTTP request, its UDP probe "porin-probe <time>"
    assertThat(contains(cap.raw(), "porin-pod")).as("a TCP payload in clear").isFalse();
    assertThat(contains(cap.raw(), "porin-probe")).as("a UDP payload in clear").isFalse();

    // the flows say so: between nodes encrypted, on one node not
    Thread.sleep(600);
    List<JsonNode> toB = flows("--from-pod", "t/a", "--to-pod", "t/b");
    assertThat(toB).isNotEmpty().allMatch(f -> f.path("IP").path("encrypted").asBoolean());
    assertThat(flows("--from-pod", "t/a", "--to-pod", "t/b", "--verdict", "ENCRYPTED"))
        .hasSameSizeAs(toB);
    List<JsonNode> toC = flows("--from-pod", "t/a", "--to-pod", "t/c");
    assertThat(toC).isNotEmpty().noneMatch(f -> f.path("IP").path("encrypted").asBoolean());
    assertThat(lab.ok("observe", "--from-pod", "t/a", "--to-pod", "t/b", "--last", "1"))
        .contains("ENCRYPTED");

    JsonNode s = encryptStatus(node(1));
    assertThat(s.path("mode").asText()).isEqualTo("userspace");
    assertThat(s.path("peers")).hasSize(2);
    assertThat(lab.ok("status")).contains("WireGuard [porin_wg0, peers 2/2]");

    // WireGuard's own tool reads the device as the agent says it configured it
    String dump =
        run(
            "nsenter",
            "--net=/run/netns/" + node(1),
            "unshare",
            "--mount",
            "--propagation",
            "slave",
            "sh",
            "-c",
            "mount --bind \"$0\" /var/run/wireguard && exec wg show porin_wg0 dump",
            LabHarness.LAB_DIR.resolve(LAB + "/node1/state/wireguard/run").toString());
    List<String> lines = dump.strip().lines().toList();
    assertThat(lines.getFirst().split("\t")[1]).isEqualTo(s.path("publicKey").asText());
    assertThat(lines.getFirst().split("\t")[2]).isEqualTo("51871");
    for (JsonNode peer : s.path("peers")) {
      assertThat(lines)
          .anyMatch(
              l ->
                  l.startsWith(peer.path("publicKey").asText() + "\t")
                      && l.contains("\t" + peer.path("endpoint").asText() + "\t")
                      && l.contains(b.ipv4().replaceAll("\\.\\d+$", ".0/24"))
                          == peer.path("node").asText().equals(node(2)));
    }
    // pods get the MTU less WireGuard's 80 bytes; the metrics count the peers
    assertThat(run("nsenter", "--net=" + a.netns(), "ip", "-o", "link", "show", "eth0"))
        .contains("mtu 1420");
    assertThat(LabHarness.curlTls(LAB, node(1), 9404, "/q/metrics"))
        .contains("porin_wireguard_peers 2.0")
        .contains("porin_wireguard_handshake_age_seconds{peer=\"" + node(2) + "\"}");
  }

  static String run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", argv), out).isZero();
    return out;
  }

  static String nodeRecord(int i) throws Exception {
    return etcdctl("get", "--print-value-only", "/porin/v1/nodes/" + node(i)).strip();
  }

  static String etcdctl(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "nsenter",
                "--net=/run/netns/" + LAB + "-cp",
                "etcdctl",
                "--endpoints",
                "https://127.0.0.1:2379"));
    // as the lab's admin (etcd's root): etcd takes client certificates only
    List<String> tls = LabHarness.adminTls(LAB);
    cmd.addAll(List.of("--cacert", tls.get(1), "--cert", tls.get(3), "--key", tls.get(5)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  @Order(2)
  void seed06MakesItsNamespaceEncryptedAndStrict() throws Exception {
    LabHarness.Pod p1 = p("production/p1");
    LabHarness.Pod p2 = p("production/p2");
    lab.ok(
        "apply",
        "-f",
        Repo.ROOT.resolve("examples/seed/06-selective-encryption-namespace.yaml").toString());
    lab.awaitPolicies(List.of("production"), List.of("production/encrypted-namespace"));
    reachable(p1, targets(p2));
    Thread.sleep(600);
    assertThat(flows("--from-pod", "production/p1", "--to-pod", "production/p2"))
        .isNotEmpty()
        .allMatch(f -> f.path("IP").path("encrypted").asBoolean());

    // node2's key gone from its record: node1 has no peer for it any more
    String record = nodeRecord(2);
    ObjectNode keyless = (ObjectNode) LabHarness.JSON.readTree(record);
    keyless.remove("wireguard");
    etcdctl("put", "/porin/v1/nodes/" + node(2), keyless.toString());
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (encryptStatus(node(1)).path("peers").size() != 1) {
        assertThat(System.nanoTime()).as("node1 drops its peer for node2").isLessThan(deadline);
        Thread.sleep(200);
      }
      LabHarness.Pod a = p("t/a");
      LabHarness.Pod e = p("t/e");
      Capture cap =
          capture(
              () -> {
                assertThat(LabHarness.probeAll(p1, targets(p2), 1500))
                    .as("strict: nothing gets through")
                    .containsOnly(false);
                // node1 and node3 still have each other: encrypted, and seen by the capture
                assertThat(LabHarness.probeAll(a, targets(e), 3000)).containsOnly(true);
              });
      assertThat(linesWith(cap, p1.ipv4(), p2.ipv4(), p1.ipv6(), p2.ipv6()))
          .as("the strict namespace's addresses in clear")
          .isEmpty();
      assertThat(cap.text()).as("the capture saw WireGuard meanwhile").contains(".51871: UDP");
      Thread.sleep(600);
      List<JsonNode> drops =
          flows("--from-pod", "production/p1", "--to-pod", "production/p2", "--verdict", "DROPPED");
      assertThat(drops)
          .isNotEmpty()
          .allMatch(
              f ->
                  f.path("drop_reason").asInt() == 195
                      || f.path("drop_reason_desc").asText().equals("UNENCRYPTED_TRAFFIC"));
    } finally {
      etcdctl("put", "/porin/v1/nodes/" + node(2), record);
    }
    reachable(p1, targets(p2));
  }

  @Test
  @Order(3)
  void anAgentKilledAndRestartedKeepsItsKeyAndPeers() throws Exception {
    String key = encryptStatus(node(2)).path("publicKey").asText();
    lab.ok("lab", "restart", "--name", LAB, "--kill", node(2));
    JsonNode after = encryptStatus(node(2));
    assertThat(after.path("publicKey").asText()).isEqualTo(key);
    assertThat(after.path("peers")).hasSize(2);
    reachable(p("t/a"), targets(p("t/b")));
    reachable(p("t/b"), targets(p("t/a")));
  }

  @Test
  @Order(4)
  void aKeyRotationKeepsARunningTransfer() throws Exception {
    LabHarness.Pod a = p("t/a");
    LabHarness.Pod b = p("t/b");
    Path serverLog = LabHarness.TARGET.resolve(LAB + "-iperf-server.log");
    Path clientLog = LabHarness.TARGET.resolve(LAB + "-iperf-client.log");
    Process server = LabHarness.inPod(b, serverLog, "iperf3", "-s", "-1", "-p", "5202");
    try {
      Thread.sleep(500);
      Process client =
          LabHarness.inPod(
              a, clientLog, "iperf3", "-c", b.ipv4(), "-p", "5202", "-t", "10", "-i", "1", "-J");
      Thread.sleep(3000);
      String old = encryptStatus(node(2)).path("publicKey").asText();
      JsonNode rotated =
          LabHarness.JSON.readTree(lab.ok("encrypt", "rotate", "--node", node(2), "-o", "json"));
      String fresh = rotated.path("publicKey").asText();
      assertThat(fresh)
          .isNotEqualTo(old)
          .isEqualTo(encryptStatus(node(2)).path("publicKey").asText());
      assertThat(client.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(client.exitValue()).as(Files.readString(clientLog)).isZero();
      JsonNode result = LabHarness.JSON.readTree(Files.readString(clientLog));
      List<Double> perSecond = new ArrayList<>();
      result.path("intervals").forEach(i -> perSecond.add(i.path("sum").path("bytes").asDouble()));
      assertThat(perSecond).as("bytes per second").hasSizeGreaterThanOrEqualTo(9);
      // the connection lived through it: never more than a handshake without data
      long empty = perSecond.stream().filter(x -> x == 0).count();
      assertThat(empty).as("seconds without data: %s", perSecond).isLessThanOrEqualTo(1);
      // node1 has node2's new key as its peer
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        List<String> keys = new ArrayList<>();
        encryptStatus(node(1)).path("peers").forEach(x -> keys.add(x.path("publicKey").asText()));
        if (keys.contains(fresh) && !keys.contains(old)) {
          break;
        }
        assertThat(System.nanoTime()).as("node1's peers: %s", keys).isLessThan(deadline);
        Thread.sleep(200);
      }
    } finally {
      server.destroy();
    }
  }

  @Test
  @Order(5)
  void aNodeAddedLaterIsReachedEncrypted() throws Exception {
    lab.ok("lab", "add-node", "--name", LAB);
    lab.apply(pod("t", "d", "node4"));
    pods = lab.pods();
    LabHarness.Pod a = p("t/a");
    LabHarness.Pod d = p("t/d");
    assertThat(d.node()).isEqualTo(node(4));
    reachable(a, targets(d));
    Capture cap =
        capture(() -> assertThat(LabHarness.probeAll(a, targets(d), 3000)).containsOnly(true));
    assertThat(clearBetweenNodes(cap)).isEmpty();
    assertThat(linesWith(cap, a.ipv4(), d.ipv4(), a.ipv6(), d.ipv6())).isEmpty();
    assertThat(encryptStatus(node(1)).path("peers")).hasSize(3);
    assertThat(encryptStatus(node(4)).path("peers")).hasSize(3);
  }

  @Test
  @Order(6)
  void aWireGuardGoThatDiesIsStartedAgainAndTrafficResumes() throws Exception {
    String net = "net:[" + Files.getAttribute(Path.of("/run/netns/" + node(3)), "unix:ino") + "]";
    ProcessHandle wg =
        ProcessHandle.allProcesses()
            .filter(p -> p.info().command().orElse("").endsWith("wireguard-go"))
            .filter(
                p -> {
                  try {
                    return Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/net"))
                        .toString()
                        .equals(net);
                  } catch (java.io.IOException e) {
                    return false;
                  }
                })
            .findFirst()
            .orElseThrow(() -> new AssertionError("no wireguard-go in " + node(3)));
    wg.destroyForcibly();
    assertThat(wg.onExit().get(10, TimeUnit.SECONDS).isAlive()).isFalse();
    // the agent starts it again (empty, a new interface) and configures it; node1 reaches e again
    reachable(p("t/a"), targets(p("t/e")));
    JsonNode s = encryptStatus(node(3));
    assertThat(s.path("peers")).hasSize(3);
    assertThat(lab.ok("observe", "--from-pod", "t/a", "--to-pod", "t/e", "--last", "1"))
        .contains("ENCRYPTED");
  }
}
