package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A 3-node lab from the outside: the connectivity suite (one node and across nodes, under
 * policies), cross-node placement and addressing, an agent killed and restarted under traffic, a
 * second lab side by side, and {@code lab down} after a crashed {@code lab up}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Tag("privileged")
class LabE2EIT {
  static final String LAB = "e2elab";
  static LabHarness lab = new LabHarness(LAB);

  @BeforeAll
  static void up() throws Exception {
    lab.up(LAB, 3, 4);
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(LAB);
  }

  @Test
  @Order(1)
  void statusAndNodes() throws Exception {
    JsonNode status = LabHarness.JSON.readTree(lab.ok("status", "-o", "json"));
    assertThat(status.path("ok").asBoolean()).as(status.toString()).isTrue();
    assertThat(status.path("lab").asText()).isEqualTo(LAB);
    JsonNode nodes = LabHarness.JSON.readTree(lab.ok("get", "nodes", "-o", "json"));
    assertThat(nodes).hasSize(3);
    for (JsonNode n : nodes) {
      assertThat(n.path("ready").asBoolean()).isTrue();
      assertThat(n.path("ipv4Cidrs").get(0).asText()).startsWith("10.200.");
    }
    String list = lab.ok("lab", "list");
    // one pod: the cluster DNS (kube-system/coredns)
    assertThat(list).containsPattern(LAB + "\\s+up\\s+processes\\s+3\\s+1\\s+4");
  }

  @Test
  @Order(2)
  void connectivitySuitePassesOnOneNodeAndAcrossNodes() throws Exception {
    Repo.Result r = lab.porin("connectivity", "test", "-o", "json");
    JsonNode j = LabHarness.JSON.readTree(r.stdout());
    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(j.path("failed").asInt()).isZero();
    assertThat(j.path("skipped").asInt()).as("nothing skipped: services are built").isZero();
    assertThat(j.path("passed").asInt()).isGreaterThanOrEqualTo(35);
    List<String> checks = new ArrayList<>();
    j.path("checks")
        .forEach(c -> checks.add(c.path("check").asText() + " " + c.path("result").asText()));
    assertThat(checks)
        .anyMatch(c -> c.contains("echo-other:8080/TCP over IPv6 must be allowed pass"))
        .anyMatch(c -> c.contains("client2 -> porin-test/echo-other:8080/TCP must be blocked pass"))
        .anyMatch(c -> c.contains("(outside the cluster: world):9401/TCP must be allowed pass"))
        .anyMatch(
            c ->
                c.contains(
                    "client -> porin-test/echo (service):80/TCP over IPv6 must be allowed pass"))
        .anyMatch(
            c -> c.contains("client2 -> porin-test/echo (service):80/TCP must be blocked pass"));
    // The suite removed its namespace and pods.
    assertThat(lab.pods().keySet()).noneMatch(k -> k.startsWith("porin-test/"));
  }

  static final String RESTART =
      """
      apiVersion: v1
      kind: Namespace
      metadata:
        name: restart
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: server, namespace: restart, labels: {app: server}}
      spec:
        nodeName: e2elab-node2
        containers:
        - name: s
          ports: [{containerPort: 8080}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client, namespace: restart, labels: {app: client}}
      spec: {nodeName: e2elab-node1, containers: [{name: c}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: intruder, namespace: restart, labels: {app: intruder}}
      spec: {nodeName: e2elab-node3, containers: [{name: c}]}
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: server-from-client, namespace: restart}
      spec:
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: client}}]
          toPorts: [{ports: [{port: "5201", protocol: TCP}, {port: "8080", protocol: TCP}]}]
      """;

  @Test
  @Order(3)
  void crossNodePodsGetTheirNodesAddressesAndKeepTrafficWhileTheAgentRestarts() throws Exception {
    lab.apply(RESTART);
    lab.awaitPolicies(List.of("restart"), List.of("restart/server-from-client"));
    Map<String, LabHarness.Pod> pods = lab.pods();
    LabHarness.Pod server = pods.get("restart/server");
    LabHarness.Pod client = pods.get("restart/client");
    LabHarness.Pod intruder = pods.get("restart/intruder");
    assertThat(server.node()).isEqualTo(LAB + "-node2");
    assertThat(client.node()).isEqualTo(LAB + "-node1");
    // Each pod's address is in its own node's pod CIDR.
    JsonNode nodes = LabHarness.JSON.readTree(lab.ok("get", "nodes", "-o", "json"));
    for (JsonNode n : nodes) {
      if (n.path("name").asText().equals(server.node())) {
        String cidr = n.path("ipv4Cidrs").get(0).asText();
        assertThat(server.ipv4()).startsWith(cidr.substring(0, cidr.lastIndexOf('.') + 1));
      }
    }
    String target = "tcp " + server.ipv4() + " 8080";
    assertThat(LabHarness.probeAll(client, List.of(target), 2000)).containsExactly(true);
    assertThat(LabHarness.probeAll(intruder, List.of(target), 1000)).containsExactly(false);

    Path work = Files.createDirectories(LabHarness.TARGET.resolve("restart-test"));
    Process iperfServer =
        LabHarness.inPod(
            server, work.resolve("iperf-server.log"), "iperf3", "-s", "-1", "-p", "5201");
    try {
      Thread.sleep(500);
      Process iperf =
          LabHarness.inPod(
              client,
              work.resolve("iperf-client.json"),
              "iperf3",
              "-c",
              server.ipv4(),
              "-p",
              "5201",
              "-t",
              "14",
              "-i",
              "1",
              "-J");
      Thread.sleep(3000);
      // The server's node loses its agent the hard way, and gets it back.
      lab.ok("lab", "restart", "--kill", LAB + "-node2");
      // While it was gone and since: the intruder stays blocked, the client keeps its flow.
      assertThat(LabHarness.probeAll(intruder, List.of(target), 1000)).containsExactly(false);
      assertThat(LabHarness.probeAll(client, List.of(target), 2000)).containsExactly(true);
      assertThat(iperf.waitFor(60, TimeUnit.SECONDS)).isTrue();
      JsonNode result =
          LabHarness.JSON.readTree(Files.readString(work.resolve("iperf-client.json")));
      assertThat(result.has("error")).as(result.path("error").asText()).isFalse();
      List<Long> bytes = new ArrayList<>();
      result.path("intervals").forEach(i -> bytes.add(i.path("sum").path("bytes").asLong()));
      assertThat(bytes).as("bytes per one-second interval").hasSizeGreaterThanOrEqualTo(13);
      assertThat(bytes).as("bytes per one-second interval").allMatch(b -> b > 0);
    } finally {
      iperfServer.destroyForcibly();
    }
    JsonNode status = LabHarness.JSON.readTree(lab.ok("status", "-o", "json", "--wait", "30s"));
    assertThat(status.path("ok").asBoolean()).isTrue();
    lab.delete(RESTART);
    assertThat(lab.pods().keySet()).noneMatch(k -> k.startsWith("restart/"));
  }

  @Test
  @Order(4)
  void aSecondLabRunsSideBySideAndGoesAwayCompletely() throws Exception {
    LabHarness other = new LabHarness("e2eside");
    try {
      other.up("e2eside", 1, 5);
      JsonNode a = LabHarness.JSON.readTree(lab.ok("status", "-o", "json"));
      JsonNode b = LabHarness.JSON.readTree(other.ok("status", "-o", "json"));
      assertThat(a.path("ok").asBoolean()).isTrue();
      assertThat(b.path("ok").asBoolean()).isTrue();
      assertThat(b.path("lab").asText()).isEqualTo("e2eside");
      assertThat(other.ok("lab", "list")).contains("e2eside", LAB);
    } finally {
      other.downAndCheckGone("e2eside");
    }
    assertThat(LabHarness.JSON.readTree(lab.ok("status", "-o", "json")).path("ok").asBoolean())
        .isTrue();
  }

  @Test
  @Order(5)
  void downCleansUpAfterACrashedUp() throws Exception {
    LabHarness crashed = new LabHarness("e2ecrash");
    crashed.porin("lab", "down", "--name", "e2ecrash");
    Path out = Files.createTempFile(LabHarness.TARGET, "crash", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(
                Repo.ROOT.resolve("bin/porin").toString(),
                "lab",
                "up",
                "--name",
                "e2ecrash",
                "--nodes",
                "2",
                "--cluster-id",
                "6")
            .redirectErrorStream(true)
            .redirectOutput(out.toFile());
    pb.environment().putAll(crashed.env());
    Process up = pb.start();
    // Kill the command once the services are starting: etcd and the namespaces exist by then.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.readString(out).contains("[3/4]") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    // Only the command dies (as with kill -9 or a lost terminal); what it started lives on.
    up.destroyForcibly().waitFor();
    assertThat(Files.readString(out)).contains("[3/4]");
    assertThat(Path.of("/var/run/netns/e2ecrash-cp")).exists();
    crashed.downAndCheckGone("e2ecrash");
  }
}
