package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Flows in a 2-node lab, read with {@code porin observe} through the relay: allowed and dropped
 * connections with the right verdict, drop reason and attribution (an allow rule, an explicit deny,
 * default deny and the policy that turned it on, a per-policy audit); a follow stream that delivers
 * a new flow; and a ring that overflows and says so. The lab runs on Porin's container images
 * ({@code --runtime podman}) where podman is installed, as ./setup.sh installs it: then the demo
 * and {@code porin connectivity test} run on it too.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Tag("privileged")
class FlowsE2EIT {
  static final String LAB = "e2eflow";
  static LabHarness lab = new LabHarness(LAB);
  static Map<String, LabHarness.Pod> pods;

  static final String SCENARIO =
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: flows}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: server, namespace: flows, labels: {app: server}}
      spec:
        nodeName: e2eflow-node2
        containers: [{name: s, ports: [{containerPort: 8080}, {containerPort: 5353, protocol: UDP}]}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: auditee, namespace: flows, labels: {app: auditee}}
      spec:
        nodeName: e2eflow-node2
        containers: [{name: s, ports: [{containerPort: 8080}]}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client, namespace: flows, labels: {app: client}}
      spec: {nodeName: e2eflow-node1, containers: [{name: c}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client2, namespace: flows, labels: {app: client2}}
      spec: {nodeName: e2eflow-node1, containers: [{name: c}]}
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: server-from-client, namespace: flows}
      spec:
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: client}}]
          toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: no-client2, namespace: flows}
      spec:
        endpointSelector: {matchLabels: {app: server}}
        ingressDeny:
        - fromEndpoints: [{matchLabels: {app: client2}}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata:
        name: auditee-lockdown
        namespace: flows
        annotations: {cilium.io/policy-audit-mode: "true"}
      spec:
        endpointSelector: {matchLabels: {app: auditee}}
        ingress: []
      """;

  @BeforeAll
  static void up() throws Exception {
    lab.up(LAB, 2, 7, Images.labOptions().toArray(String[]::new));
    lab.apply(SCENARIO);
    lab.awaitPolicies(
        List.of("flows"),
        List.of("flows/server-from-client", "flows/no-client2", "flows/auditee-lockdown"));
    pods = lab.pods();
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(LAB);
  }

  static String tcp(LabHarness.Pod to, int port) {
    return "tcp " + to.ipv4() + " " + port;
  }

  /** Flows as JSON objects (one GetFlowsResponse per line). */
  static List<JsonNode> observe(String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("observe", "-o", "json"));
    all.addAll(List.of(args));
    List<JsonNode> out = new ArrayList<>();
    for (String line : lab.ok(all.toArray(String[]::new)).split("\n")) {
      if (!line.isBlank()) {
        out.add(LabHarness.JSON.readTree(line));
      }
    }
    return out;
  }

  static List<String> names(JsonNode policies) {
    List<String> n = new ArrayList<>();
    policies.forEach(p -> n.add(p.path("namespace").asText() + "/" + p.path("name").asText()));
    return n;
  }

  @Test
  @Order(1)
  void everyVerdictIsAttributedToThePolicyThatDecided() throws Exception {
    LabHarness.Pod server = pods.get("flows/server");
    LabHarness.Pod auditee = pods.get("flows/auditee");
    assertThat(
            LabHarness.probeAll(
                pods.get("flows/client"), List.of(tcp(server, 8080), tcp(auditee, 8080)), 2000))
        .containsExactly(true, true);
    assertThat(LabHarness.probeAll(pods.get("flows/client2"), List.of(tcp(server, 8080)), 1000))
        .containsExactly(false);
    assertThat(
            LabHarness.probeAll(
                pods.get("flows/client"), List.of("udp " + server.ipv4() + " 5353"), 1000))
        .containsExactly(false);
    Thread.sleep(500); // one drain and the relay's sort window

    List<JsonNode> ingress = new ArrayList<>();
    for (JsonNode r :
        observe("--to-pod", "flows/server", "--to-pod", "flows/auditee", "--last", "100")) {
      if (r.has("flow") && r.path("flow").path("traffic_direction").asText().equals("INGRESS")) {
        ingress.add(r.path("flow"));
      }
    }
    JsonNode allowed = find(ingress, "client", "server", "FORWARDED");
    assertThat(allowed.path("node_name").asText()).isEqualTo(LAB + "-node2");
    assertThat(allowed.path("source").path("pod_name").asText()).isEqualTo("client");
    assertThat(allowed.path("source").path("labels").toString()).contains("k8s:app=client");
    assertThat(allowed.path("l4").path("TCP").path("flags").path("SYN").asBoolean()).isTrue();
    assertThat(names(allowed.path("ingress_allowed_by")))
        .containsExactly("flows/server-from-client");

    JsonNode denied = find(ingress, "client2", "server", "DROPPED");
    assertThat(denied.path("drop_reason_desc").asText()).isEqualTo("POLICY_DENY");
    assertThat(names(denied.path("ingress_denied_by"))).containsExactly("flows/no-client2");

    JsonNode byDefault = find(ingress, "client", "server", "DROPPED");
    assertThat(byDefault.path("drop_reason_desc").asText()).isEqualTo("POLICY_DENIED");
    assertThat(byDefault.path("l4").has("UDP")).isTrue();
    assertThat(names(byDefault.path("ingress_denied_by"))).contains("flows/server-from-client");
    assertThat(byDefault.path("ingress_denied_by").get(0).path("labels").toString())
        .contains("reserved:default-deny");

    JsonNode audited = find(ingress, "client", "auditee", "AUDIT");
    assertThat(names(audited.path("ingress_denied_by"))).containsExactly("flows/auditee-lockdown");

    // The compact line of hubble observe --verdict DENIED, naming the policy.
    String compact = lab.ok("observe", "--verdict", "DENIED", "--to-pod", "flows/server");
    assertThat(compact)
        .containsPattern(
            "flows/client2:\\d+ \\(ID:\\d+\\) -> flows/server:8080 \\(ID:\\d+\\) policy-verdict:\\S+"
                + " INGRESS DENIED \\(TCP Flags: SYN\\) by flows/no-client2");
  }

  static JsonNode find(List<JsonNode> flows, String from, String to, String verdict) {
    return flows.stream()
        .filter(f -> f.path("source").path("pod_name").asText().equals(from))
        .filter(f -> f.path("destination").path("pod_name").asText().equals(to))
        .filter(f -> f.path("verdict").asText().equals(verdict))
        .findFirst()
        .orElseThrow(
            () ->
                new AssertionError(
                    "no " + verdict + " flow " + from + " -> " + to + " in " + flows));
  }

  /**
   * client2 (CAP_NET_RAW, as containerd gives every pod) sends TCP SYNs with forged sources: as
   * client, whom the server admits on 8080 (across nodes, IPv4 and IPv6), and as the server to
   * client on its own node (the same-node fast path). None reaches anyone; each is dropped where it
   * was sent, and the flows say why.
   */
  @Test
  @Order(2)
  void aPodSpoofingItsSourceReachesNobodyAndItsDropsSayWhy() throws Exception {
    LabHarness.Pod client = pods.get("flows/client");
    LabHarness.Pod client2 = pods.get("flows/client2");
    LabHarness.Pod server = pods.get("flows/server");
    spoof(client2, client.ipv4(), server.ipv4(), 8080, 44401);
    spoof(client2, client.ipv6(), server.ipv6(), 8080, 44402);
    spoof(client2, server.ipv4(), client.ipv4(), 8080, 44403);
    Thread.sleep(1000); // one drain and the relay's sort window

    Map<Integer, String> spoofedSource =
        Map.of(44401, client.ipv4(), 44402, client.ipv6(), 44403, server.ipv4());
    List<JsonNode> seen = new ArrayList<>();
    for (JsonNode r : observe("--last", "2000")) {
      JsonNode f = r.path("flow");
      int sport = f.path("l4").path("TCP").path("source_port").asInt();
      if (spoofedSource.containsKey(sport)) {
        seen.add(f);
      }
    }
    for (Map.Entry<Integer, String> s : spoofedSource.entrySet()) {
      assertThat(seen)
          .as("a drop of the SYN from port " + s.getKey())
          .anySatisfy(
              f -> {
                assertThat(f.path("l4").path("TCP").path("source_port").asInt())
                    .isEqualTo(s.getKey());
                assertThat(f.path("IP").path("source").asText()).isEqualTo(s.getValue());
                assertThat(f.path("verdict").asText()).isEqualTo("DROPPED");
                assertThat(f.path("drop_reason_desc").asText()).isEqualTo("INVALID_SOURCE_IP");
                assertThat(f.path("node_name").asText()).isEqualTo(LAB + "-node1");
                assertThat(f.path("traffic_direction").asText()).isEqualTo("EGRESS");
              });
    }
    // and nothing of them was seen anywhere else: no node forwarded or even decided on one
    assertThat(seen)
        .allSatisfy(
            f -> {
              assertThat(f.path("verdict").asText()).isEqualTo("DROPPED");
              assertThat(f.path("drop_reason_desc").asText()).isEqualTo("INVALID_SOURCE_IP");
            });
    assertThat(
            lab.ok(
                "observe", "--from-pod", "flows/client2", "--verdict", "DROPPED", "--last", "50"))
        .contains("Invalid source ip");
  }

  static void spoof(LabHarness.Pod from, String source, String to, int port, int sport)
      throws Exception {
    Process p =
        new ProcessBuilder(
                "nsenter",
                "--net=" + from.netns(),
                LabHarness.PORIN_POD.toString(),
                "spoof",
                source,
                to,
                Integer.toString(port),
                Integer.toString(sport))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  @Test
  @Order(3)
  void aFollowingReaderGetsANewFlowWithinASecond() throws Exception {
    LabHarness.Running follow =
        lab.start(null, "observe", "--follow", "--from-pod", "flows/client2", "-o", "json");
    BlockingQueue<String> lines = follow.lines();
    try {
      // The stream is open once the relay has it: wait for one flow first.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      String first = null;
      while (first == null && System.nanoTime() < deadline) {
        LabHarness.probeAll(
            pods.get("flows/client2"), List.of(tcp(pods.get("flows/server"), 8080)), 300);
        first = lines.poll(1, TimeUnit.SECONDS);
      }
      assertThat(first).as("the follow stream delivers flows").isNotNull();
      lines.clear();
      Thread.sleep(1500);
      lines.clear();
      long sent = System.nanoTime();
      LabHarness.probeAll(
          pods.get("flows/client2"), List.of("udp " + pods.get("flows/server").ipv4() + " 9"), 200);
      String next = lines.poll(10, TimeUnit.SECONDS);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
      assertThat(next).isNotNull().contains("\"UDP\"");
      System.out.printf("a new flow reached the follower in %d ms%n", millis);
      assertThat(millis).as("from the packet to the follower").isLessThan(1000);
    } finally {
      follow.close();
    }
  }

  @Test
  @Order(4)
  void anOverflowingRingReportsLostFlows() throws Exception {
    LabHarness.Pod client = pods.get("flows/client");
    String target = "udp " + pods.get("flows/server").ipv4() + " 7777";
    for (int round = 0; round < 5; round++) {
      LabHarness.probeAll(client, java.util.Collections.nCopies(1000, target), 100);
    }
    Thread.sleep(500);
    JsonNode status = LabHarness.JSON.readTree(lab.ok("status", "-o", "json"));
    assertThat(status.path("ok").asBoolean()).isTrue();
    List<JsonNode> answer =
        observe("--node-name", LAB + "-node2", "--since", "1h", "--verdict", "DROPPED");
    // as hubble-relay: the nodes asked, first; then the lost flows, before the flows kept
    assertThat(answer.getFirst().path("node_status").path("state_change").asText())
        .isEqualTo("NODE_CONNECTED");
    List<JsonNode> all = answer.subList(1, answer.size());
    assertThat(all.getFirst().has("lost_events")).as(all.getFirst().toString()).isTrue();
    assertThat(all.getFirst().path("lost_events").path("source").asText())
        .isEqualTo("HUBBLE_RING_BUFFER");
    assertThat(all.getFirst().path("lost_events").path("num_events_lost").asLong()).isPositive();
    assertThat(all.stream().filter(r -> r.has("flow")).count()).isGreaterThan(1000);
  }

  @Test
  @Order(5)
  void metricsCarryHubbleAndCiliumNames() throws Exception {
    Thread.sleep(1500); // the kernel counters are read every second
    String agent = LabHarness.curlTls(LAB, LAB + "-node2", 9404, "/q/metrics");
    assertThat(agent)
        .contains("hubble_flows_processed_total{")
        .contains("hubble_drop_total{")
        .contains("hubble_policy_verdicts_total{")
        .contains("hubble_tcp_flags_total{")
        .contains("hubble_lost_events_total{")
        .containsPattern(
            "cilium_drop_count_total\\{direction=\"INGRESS\",reason=\"Policy denied\"[^}]*} [1-9]")
        .contains("cilium_forward_count_total{")
        .contains("cilium_bpf_map_pressure{")
        .contains("cilium_endpoint_state{");
    assertThat(LabHarness.curlTls(LAB, LAB + "-cp", 9403, "/q/metrics"))
        .containsPattern("cilium_policy(\\{[^}]*})? 3.0");
  }

  /**
   * Labels change under running pods: a namespace gains the label a NetworkPolicy's
   * namespaceSelector wants, and a pod takes another app label. Each pod moves to the identity of
   * its new labels and gets what policy gives that identity, without being recreated.
   */
  @Test
  @Order(6)
  void relabellingANamespaceOrAPodMovesItsRunningPods() throws Exception {
    lab.apply(
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: ops}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: probe, namespace: ops, labels: {app: probe}}
        spec: {nodeName: e2eflow-node1, containers: [{name: c}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: from-ops, namespace: flows}
        spec:
          podSelector: {matchLabels: {app: server}}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {team: ops}}}]
            ports: [{port: 8080, protocol: TCP}]
        """);
    lab.awaitPolicies(
        List.of("flows"),
        List.of(
            "flows/server-from-client",
            "flows/no-client2",
            "flows/auditee-lockdown",
            "flows/from-ops"));
    Map<String, LabHarness.Pod> before = lab.pods();
    LabHarness.Pod probe = before.get("ops/probe");
    LabHarness.Pod server = before.get("flows/server");
    assertThat(LabHarness.probeAll(probe, List.of(tcp(server, 8080)), 1000)).containsExactly(false);

    lab.apply(
        """
        apiVersion: v1
        kind: Namespace
        metadata: {name: ops, labels: {team: ops}}
        """);
    assertThat(eventually(() -> LabHarness.probeAll(probe, List.of(tcp(server, 8080)), 1000)))
        .as("ops/probe reaches the server once its namespace is team=ops")
        .isTrue();

    LabHarness.Pod client2 = before.get("flows/client2");
    lab.apply(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: client2, namespace: flows, labels: {app: client}}
        spec: {nodeName: e2eflow-node1, containers: [{name: c}]}
        """);
    assertThat(eventually(() -> LabHarness.probeAll(client2, List.of(tcp(server, 8080)), 1000)))
        .as("flows/client2 relabelled app=client gets what client gets")
        .isTrue();

    // the same pods: neither was recreated (same namespace, same addresses)
    Map<String, LabHarness.Pod> after = lab.pods();
    assertThat(after.get("ops/probe")).isEqualTo(probe);
    assertThat(after.get("flows/client2")).isEqualTo(client2);
  }

  /** Whether a probe answers within 30 s (the agents follow labels within seconds). */
  static boolean eventually(java.util.concurrent.Callable<List<Boolean>> probe) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (probe.call().getFirst()) {
        return true;
      }
      Thread.sleep(500);
    }
    return false;
  }

  @Test
  @Order(7)
  void theLabRunsOnPorinsImages() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Images.available(), "podman is not installed");
    assertThat(Images.containers(LAB))
        .containsExactly(
            "porin-" + LAB + "-agent-" + LAB + "-node1",
            "porin-" + LAB + "-agent-" + LAB + "-node2",
            "porin-" + LAB + "-etcd",
            "porin-" + LAB + "-identity",
            "porin-" + LAB + "-ipam",
            "porin-" + LAB + "-policy",
            "porin-" + LAB + "-relay");
    JsonNode state = LabHarness.JSON.readTree(lab.ok("lab", "list", "-o", "json"));
    assertThat(state.toString()).contains("\"runtime\":\"podman\"");
  }

  /**
   * The README's demo ({@code bin/demo}, as a user runs it) on this lab, which it reuses: the
   * three-tier app and its policies from examples/, real traffic between the pods by service name,
   * and the flows naming the policies that decided. (Its {@code lab up} is every other lab's.)
   */
  @Test
  @Order(8)
  void theReadmeDemoRunsOnThisLab() throws Exception {
    Map<String, String> env = new java.util.HashMap<>(lab.env());
    env.put("PORIN_DEMO_LAB", LAB);
    Repo.Result up = Repo.run(env, Repo.Duration.ofSeconds(300), "bin/demo");
    assertThat(up.exitCode()).as(up.stdout() + up.stderr()).isZero();
    assertThat(up.stdout())
        .contains("lab " + LAB + " is already up")
        .containsPattern("Nodes:\\s+OK\\s+2/2 agents ready")
        .contains("CiliumNetworkPolicy demo/default-deny created")
        .containsPattern("revision \\d+ is enforced on all 2 nodes")
        .containsPattern("demo\\s+api\\s+" + LAB + "-node\\d\\s+10\\.200\\.")
        // by service name: cluster IPs, and the socket translation named in the flows
        .containsPattern("demo\\s+api\\s+ClusterIP\\s+10\\.96\\.\\d+\\.\\d+,fd00:96::")
        .contains("frontend -- curl -s -m 3 http://api:3000/")
        .containsPattern(
            "demo/frontend \\(ID:\\d+\\) -> demo/api:3000 \\[service demo/api\\] \\(ID:\\d+\\)"
                + " post-xlate-fwd TRANSLATED")
        .containsPattern("(?s)frontend -- curl .*?:3000/\ndemo/api   <- answered: ALLOWED")
        .containsPattern("(?s)api -- curl .*?:5432/\ndemo/database   <- answered: ALLOWED")
        .containsPattern(
            "(?s)frontend -- curl .*?:5432/\n\\(no answer in 3 s: BLOCKED by the eBPF datapath\\)")
        .contains(
            "denied by default deny (no rule allows it), enabled by demo/api-to-database,"
                + " demo/default-deny")
        // the flow of the blocked attempt, naming the policies that decided
        .containsPattern(
            "demo/frontend:\\d+ \\(ID:\\d+\\) -> demo/database:5432 \\(ID:\\d+\\)"
                + " policy-verdict:none EGRESS DENIED \\(TCP Flags: SYN\\) by demo/allow-dns,"
                + " demo/default-deny, demo/frontend-egress")
        .containsPattern(
            "demo/frontend:\\d+ \\(ID:\\d+\\) -> demo/api:3000 \\(ID:\\d+\\)"
                + " policy-verdict:L3-L4 INGRESS ALLOWED \\(TCP Flags: SYN\\) by demo/frontend-to-api");
    // the pods as the lab's context shows them: each on a node, with an identity and a netns
    JsonNode demoPods = LabHarness.JSON.readTree(lab.ok("get", "pods", "-n", "demo", "-o", "json"));
    assertThat(demoPods.path("pods")).hasSize(3);
    for (JsonNode p : demoPods.path("pods")) {
      assertThat(p.path("identity").asLong()).isGreaterThan(255);
      assertThat(p.path("netns").asText()).startsWith("/var/run/netns/" + LAB + "-demo-");
      assertThat(p.path("status").asText()).isEqualTo("ready");
    }
  }

  @Test
  @Order(9)
  void theConnectivityTestPassesOnThisLab() throws Exception {
    String out = lab.ok("connectivity", "test");
    assertThat(out).containsPattern("All checks passed: \\d+ passed, 0 failed");
  }

  /**
   * {@code porin sysdump} on the demo's lab: a bundle whose index lists every part, each there,
   * from every component (both nodes' agents, the services, the lab's logs), and not one byte of a
   * private key, although the lab's certificates and keys sit beside what it reads.
   */
  @Test
  @Order(10)
  void sysdumpBundlesEveryPartAndNoSecret() throws Exception {
    Path bundle = LabHarness.TARGET.resolve("sysdump-" + LAB + ".tar.gz");
    Files.deleteIfExists(bundle);
    Repo.Result r = lab.porin("sysdump", "-o", bundle.toString());
    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stderr()).contains("[1/").contains("status.json");
    Path out = Files.createTempDirectory(LabHarness.TARGET, "sysdump");
    Process x = new ProcessBuilder("tar", "-xzf", bundle.toString(), "-C", out.toString()).start();
    assertThat(x.waitFor()).isZero();
    Path root = out.resolve("sysdump");
    JsonNode index = LabHarness.JSON.readTree(root.resolve("index.json").toFile());
    List<String> listed = new ArrayList<>();
    for (JsonNode e : index) {
      listed.add(e.path("path").asText());
      if (e.path("state").asText().equals("ok")) {
        assertThat(root.resolve(e.path("path").asText())).as(e.toString()).exists();
      }
    }
    assertThat(listed)
        .contains(
            "version.txt",
            "status.json",
            "identities.json",
            "policies.json",
            "flows.jsonl",
            "metrics/relay.txt",
            "nodes/" + LAB + "-node1/policy-maps.json",
            "nodes/" + LAB + "-node2/services-kernel.json",
            "nodes/" + LAB + "-node2/metrics.txt",
            "lab/lab.json",
            "lab/settings.txt",
            "lab/logs/relay.log");
    assertThat(index).allMatch(e -> e.path("state").asText().equals("ok"));
    assertThat(Files.readString(root.resolve("index.txt"))).contains("lab " + LAB);
    assertThat(Files.readString(root.resolve("policies.json")))
        .contains("\"namespace\": \"demo\"")
        .contains("\"name\": \"default-deny\"");
    // no private key: not the PEM armour, not a line of any key file of the lab
    List<String> keyLines = new ArrayList<>();
    try (var files = Files.walk(LabHarness.LAB_DIR.resolve(LAB))) {
      for (Path f :
          files
              .filter(Files::isRegularFile)
              .filter(f -> f.toString().endsWith(".pem") || f.toString().endsWith(".key"))
              .toList()) {
        String pem = Files.readString(f);
        int at = pem.indexOf("PRIVATE KEY-----");
        if (at >= 0) {
          pem.substring(at).lines().skip(1).filter(l -> l.length() > 20).forEach(keyLines::add);
        }
      }
    }
    assertThat(keyLines).as("the lab's keys, to look for").isNotEmpty();
    try (var files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String text = Files.readString(f);
        assertThat(text).as(f.toString()).doesNotContain("PRIVATE KEY");
        for (String k : keyLines) {
          assertThat(text).as(f + " holds a line of a private key").doesNotContain(k);
        }
      }
    }
    // the read-only commands this class ran went through the lab's command server
    assertThat(Files.readString(LabHarness.LAB_DIR.resolve(LAB + "/logs/cli.log")))
        .containsPattern("observe .*: exit 0 in \\d+ ms")
        .containsPattern("status.*: exit 0 in \\d+ ms");
  }
}
