package io.porin.agent.cni;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.agent.testing.NetnsCluster;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The CNI contract and the agent end to end on one node: the real porin-cni against the real agent,
 * pods in network namespaces this test creates, policy enforced by the kernel programs, and an
 * agent restart under a running iperf3 flow. Needs root; removes everything it creates.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Tag("privileged")
class CniContractIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONFIG =
      "{\"cniVersion\":\"1.0.0\",\"name\":\"porin\",\"type\":\"porin-cni\"}";

  @Test
  @Order(0)
  void theAgentWritesTheConflistForItsSocket() throws Exception {
    JsonNode conf = JSON.readTree(cluster.work.resolve("net.d/05-porin.conflist").toFile());
    assertThat(conf.path("plugins").get(0).path("type").asText()).isEqualTo("porin-cni");
    assertThat(conf.path("plugins").get(0).path("agent-socket").asText())
        .isEqualTo(cluster.cniSocket.toString());
  }

  private static final String RESOURCES =
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: t}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: server, namespace: t, labels: {app: server}}
      spec: {containers: [{name: s, ports: [{containerPort: 5201}]}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client, namespace: t, labels: {app: client}}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: other, namespace: t, labels: {app: other}}
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: server-from-client, namespace: t}
      spec:
        endpointSelector: {matchLabels: {app: server}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: client}}]
          toPorts: [{ports: [{port: "5201", protocol: TCP}]}]
      """;

  private NetnsCluster cluster;
  private String server;
  private String client;
  private String other;
  private String serverIp;
  private String serverIp6;

  @BeforeAll
  void start() throws Exception {
    cluster = new NetnsCluster("c");
    try {
      cluster.start();
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
    server = cluster.podNetns("server");
    client = cluster.podNetns("client");
    other = cluster.podNetns("other");
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private NetnsCluster.Result add(String id, String netns, String pod) {
    return cluster.cni(
        "ADD",
        id,
        NetnsCluster.netnsPath(netns),
        "eth0",
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=t;K8S_POD_NAME=" + pod,
        CONFIG);
  }

  private static JsonNode json(NetnsCluster.Result r) throws Exception {
    return JSON.readTree(r.output());
  }

  @Test
  @Order(1)
  void versionIsAnsweredByThePlugin() throws Exception {
    NetnsCluster.Result r =
        cluster.cni("VERSION", null, null, null, null, "{\"cniVersion\":\"1.0.0\"}");
    assertThat(r.exitCode()).isZero();
    assertThat(json(r).path("supportedVersions").toString()).contains("1.0.0", "0.4.0");
  }

  @Test
  @Order(2)
  void badCallsGetCniErrorsNamingTheProblem() throws Exception {
    String ns = NetnsCluster.netnsPath(client);
    NetnsCluster.Result badJson = cluster.cni("ADD", "c1", ns, "eth0", null, "{not json");
    assertThat(badJson.exitCode()).isEqualTo(1);
    assertThat(json(badJson).path("code").asInt()).isEqualTo(6);

    NetnsCluster.Result version =
        cluster.cni("ADD", "c1", ns, "eth0", null, "{\"cniVersion\":\"9.9.9\"}");
    assertThat(json(version).path("code").asInt()).isEqualTo(1);
    assertThat(json(version).path("msg").asText()).contains("9.9.9");

    NetnsCluster.Result missing = cluster.cni("ADD", null, ns, null, null, CONFIG);
    assertThat(json(missing).path("code").asInt()).isEqualTo(4);
    assertThat(json(missing).path("msg").asText()).contains("CNI_CONTAINERID", "CNI_IFNAME");

    NetnsCluster.Result noNetns =
        cluster.cni("ADD", "c1", "/var/run/netns/porin-no-such-ns", "eth0", null, CONFIG);
    assertThat(json(noNetns).path("code").asInt()).isEqualTo(4);
    assertThat(json(noNetns).path("msg").asText()).contains("porin-no-such-ns");

    NetnsCluster.Result check = cluster.cni("CHECK", "unknown", ns, "eth0", null, CONFIG);
    assertThat(check.exitCode()).isEqualTo(1);
    assertThat(json(check).path("code").asInt()).isEqualTo(110);
    // nothing was left behind by the failed calls
    assertThat(cluster.inNode("ip", "-o", "link").output()).doesNotContain("lxc");
  }

  @Test
  @Order(2)
  void theCniSocketServesRootOnlyAndBoundsWhatItReads() throws Exception {
    // created 0600: another user cannot even connect
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cluster.cniSocket)))
        .isEqualTo("rw-------");
    NetnsCluster.Result asNobody = asNobody();
    assertThat(asNobody.exitCode()).isEqualTo(1);
    assertThat(json(asNobody).path("code").asInt()).isEqualTo(11);
    // and were the socket opened up, the agent still refuses a caller that is not root
    Files.setPosixFilePermissions(cluster.cniSocket, PosixFilePermissions.fromString("rw-rw-rw-"));
    try {
      NetnsCluster.Result refused = asNobody();
      assertThat(json(refused).path("code").asInt()).isEqualTo(CniException.PERMISSION_DENIED);
      assertThat(json(refused).path("details").asText()).contains("nobody");
    } finally {
      Files.setPosixFilePermissions(
          cluster.cniSocket, PosixFilePermissions.fromString("rw-------"));
    }
    // a request larger than the cap is refused whole
    String big = "{\"env\":{},\"config\":\"" + "x".repeat(CniServer.MAX_REQUEST_BYTES + 10) + "\"}";
    String answer = raw(big.getBytes(), true);
    assertThat(answer).startsWith("1\n").contains("larger than " + CniServer.MAX_REQUEST_BYTES);
    // a caller that never sends its request is cut off (2 s here)
    long start = System.nanoTime();
    assertThat(raw(new byte[0], false)).isEmpty();
    assertThat(System.nanoTime() - start).isLessThan(20_000_000_000L);
    assertThat(cluster.inNode("ip", "-o", "link").output()).doesNotContain("lxc");
  }

  @Test
  @Order(2)
  void containerIdsAndNamespacesThatAreNotAPodsAreRefused() throws Exception {
    String ns = NetnsCluster.netnsPath(client);
    for (String id : List.of("../../etc/passwd", "a b", "-x", "x\ny", "é")) {
      NetnsCluster.Result r = cluster.cni("ADD", id, ns, "eth0", null, CONFIG);
      assertThat(json(r).path("code").asInt()).as(id).isEqualTo(4);
      assertThat(json(r).path("msg").asText()).contains("CNI_CONTAINERID");
    }
    // the node's own namespace (the agent's) and the host's are no pod's
    for (String own : List.of(NetnsCluster.netnsPath(cluster.nodeNetns), "/proc/self/ns/net")) {
      NetnsCluster.Result r = cluster.cni("ADD", "ctr-evil", own, "eth0", null, CONFIG);
      assertThat(json(r).path("code").asInt()).as(own).isEqualTo(4);
      assertThat(json(r).path("msg").asText()).contains("own network namespace");
    }
    assertThat(cluster.inNode("ip", "-o", "link").output()).doesNotContain("lxc");
  }

  /** porin-cni run as nobody (VERSION is answered by the plugin itself: ask for ADD). */
  private NetnsCluster.Result asNobody() {
    return NetnsCluster.run(
        List.of(
            "sh",
            "-c",
            "echo '"
                + CONFIG
                + "' | CNI_COMMAND=ADD CNI_CONTAINERID=ctr-nobody CNI_NETNS="
                + NetnsCluster.netnsPath(client)
                + " CNI_IFNAME=eth0 CNI_PATH=/ PORIN_CNI_SOCKET="
                + cluster.cniSocket
                + " setpriv --reuid=65534 --regid=65534 --clear-groups "
                + NetnsCluster.MODULE.resolve("target/bin/porin-cni")));
  }

  /** Talks to the socket directly: sends {@code request} (then ends it, or not) and reads. */
  private String raw(byte[] request, boolean end) throws Exception {
    try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(cluster.cniSocket))) {
      c.write(ByteBuffer.wrap(request));
      if (end) {
        c.shutdownOutput();
      }
      return new String(Channels.newInputStream(c).readAllBytes());
    }
  }

  @Test
  @Order(2)
  void anAddThatFailsHalfWayRollsBackEverything() throws Exception {
    // exists, so it passes validation, but is no namespace: ADD fails after the veth pair exists
    java.nio.file.Path notANetns = cluster.work.resolve("not-a-netns");
    Files.writeString(notANetns, "");
    NetnsCluster.Result r =
        cluster.cni(
            "ADD", "ctr-broken", notANetns.toString(), "eth0", "K8S_POD_NAMESPACE=t", CONFIG);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(json(r).path("code").asInt()).isEqualTo(100);
    String links = cluster.inNode("ip", "-o", "link").output();
    assertThat(links).doesNotContain("lxc").doesNotContain("tmp");
    assertThat(Files.readString(cluster.work.resolve("state/ipam-ipv4.json")))
        .doesNotContain("ctr-broken");
  }

  @Test
  @Order(3)
  void addWiresPodsIdempotentlyAndCheckVerifiesThem() throws Exception {
    Files.writeString(cluster.work.resolve("resources.yaml"), RESOURCES);
    NetnsCluster.Result applied =
        cluster.cli("apply", "-f", cluster.work.resolve("resources.yaml").toString());
    assertThat(applied.exitCode()).as(applied.output()).isZero();

    NetnsCluster.Result s = add("ctr-server", server, "server");
    assertThat(s.exitCode()).as(s.output() + cluster.tail("agent")).isZero();
    JsonNode result = json(s);
    serverIp = result.path("ips").get(0).path("address").asText().replace("/32", "");
    serverIp6 = result.path("ips").get(1).path("address").asText().replace("/128", "");
    assertThat(result.path("cniVersion").asText()).isEqualTo("1.0.0");
    assertThat(result.path("interfaces").get(0).path("name").asText())
        .startsWith("lxc")
        .hasSize(15);
    assertThat(result.path("interfaces").get(1).path("sandbox").asText()).endsWith(server);
    assertThat(result.path("routes").get(0).path("dst").asText()).isEqualTo("0.0.0.0/0");
    assertThat(cluster.inPod(server, "ip", "-o", "addr", "show", "dev", "eth0").output())
        .contains(serverIp + "/32");
    assertThat(add("ctr-client", client, "client").exitCode()).isZero();
    assertThat(add("ctr-other", other, "other").exitCode()).isZero();

    // ADD again: the same answer, nothing new
    NetnsCluster.Result again = add("ctr-server", server, "server");
    assertThat(json(again).path("ips")).isEqualTo(result.path("ips"));
    assertThat(cluster.inNode("ip", "-o", "link").output().lines().filter(l -> l.contains("lxc")))
        .hasSize(3);

    NetnsCluster.Result check =
        cluster.cni("CHECK", "ctr-server", NetnsCluster.netnsPath(server), "eth0", null, CONFIG);
    assertThat(check.exitCode()).as(check.output()).isZero();

    NetnsCluster.Result list = cluster.cli("endpoint", "list", "-o", "json");
    assertThat(list.exitCode()).as(list.output()).isZero();
    JsonNode endpoints = JSON.readTree(list.output());
    assertThat(endpoints).hasSize(3);
    endpoints.forEach(e -> assertThat(e.path("status").asText()).isEqualTo("ready"));
  }

  @Test
  @Order(4)
  void policyIsEnforcedInTheKernel() throws Exception {
    cluster.startInPod(server, "iperf3-server", "iperf3", "-s", "-p", "5201");
    Thread.sleep(500);
    NetnsCluster.Result allowed = iperf(client, 1);
    assertThat(allowed.exitCode()).as(allowed.output()).isZero();
    NetnsCluster.Result denied = iperf(other, 1);
    assertThat(denied.exitCode()).as(denied.output()).isNotZero();
    // the same over IPv6: identities do not care about the family
    NetnsCluster.Result allowed6 = iperf(client, serverIp6);
    assertThat(allowed6.exitCode()).as(allowed6.output()).isZero();
    assertThat(iperf(other, serverIp6).exitCode()).isNotZero();

    // the node acknowledged the revision it enforces: porin policy wait sees it
    NetnsCluster.Result wait = cluster.cli("policy", "wait", "--timeout", "20s", "-o", "json");
    assertThat(wait.exitCode()).as(wait.output()).isZero();
    JsonNode acks = JSON.readTree(wait.output());
    assertThat(acks.path("reached").asBoolean()).isTrue();
    assertThat(acks.path("nodes").get(0).path("node").asText()).isEqualTo(cluster.name);
    assertThat(acks.path("nodes").get(0).path("identities").asInt()).isEqualTo(3);

    NetnsCluster.Result map =
        cluster.cli("bpf", "policy", "get", "--pod", "t/server", "-o", "json");
    assertThat(map.exitCode()).as(map.output()).isZero();
    JsonNode m = JSON.readTree(map.output());
    assertThat(m.path("ingressEnforced").asBoolean()).isTrue();
    assertThat(m.path("entries").toString()).contains("5201", "t/server-from-client");
  }

  /** One second of iperf3 to the server's address. */
  private NetnsCluster.Result iperf(String from, String address) {
    return cluster.inPod(
        from, "iperf3", "-c", address, "-p", "5201", "-t", "1", "--connect-timeout", "2000");
  }

  private NetnsCluster.Result iperf(String from, int seconds) {
    return cluster.inPod(
        from,
        "iperf3",
        "-c",
        serverIp,
        "-p",
        "5201",
        "-t",
        Integer.toString(seconds),
        "--connect-timeout",
        "2000");
  }

  @Test
  @Order(5)
  void agentRestartUnderARunningFlowResetsNothingAndKeepsEnforcing() throws Exception {
    Process flow =
        cluster.startInPod(
            client,
            "iperf3-client",
            "iperf3",
            "-c",
            serverIp,
            "-p",
            "5201",
            "-t",
            "30", // long enough to outlast a restart on a loaded 2-core machine
            "-i",
            "1",
            "-J");
    Thread.sleep(2000);
    cluster.stopAgent(true); // SIGKILL: a crash, not an orderly stop
    // while the agent is away the kernel keeps enforcing
    assertThat(iperfConnect(other)).isNotZero();
    cluster.startAgent();
    assertThat(flow.isAlive()).as("the flow outlived the agent's restart").isTrue();
    assertThat(flow.waitFor()).as(cluster.tail("iperf3-client")).isZero();
    JsonNode report = JSON.readTree(Files.readString(cluster.log("iperf3-client")));
    assertThat(report.has("error")).as(report.path("error").asText()).isFalse();
    List<JsonNode> intervals = List.copyOf(iterate(report.path("intervals")));
    assertThat(intervals).hasSizeGreaterThanOrEqualTo(29);
    for (JsonNode i : intervals) {
      assertThat(i.path("sum").path("bytes").asLong()).as("bytes in every interval").isPositive();
    }
    // and after the restart the policy still holds
    assertThat(iperfConnect(other)).isNotZero();
    NetnsCluster.Result list = cluster.cli("endpoint", "list", "-o", "json");
    assertThat(JSON.readTree(list.output())).hasSize(3);
  }

  private int iperfConnect(String from) {
    return cluster
        .inPod(from, "iperf3", "-c", serverIp, "-p", "5201", "-t", "1", "--connect-timeout", "1000")
        .exitCode();
  }

  private static List<JsonNode> iterate(JsonNode array) {
    List<JsonNode> out = new java.util.ArrayList<>();
    array.forEach(out::add);
    return out;
  }

  @Test
  @Order(6)
  void withoutThePolicyServiceTheKernelKeepsEnforcingAndReadinessSaysWhy() throws Exception {
    cluster.stop("policy");
    String health = awaitHealth(h -> h.contains("degraded"));
    assertThat(health).contains("policy service");
    assertThat(iperf(client, 1).exitCode()).isZero();
    assertThat(iperfConnect(other)).isNotZero();
    cluster.startService("policy", 9403);
    awaitHealth(h -> !h.contains("degraded") && h.contains("\"UP\""));
    assertThat(iperfConnect(other)).isNotZero();
  }

  private String awaitHealth(java.util.function.Predicate<String> condition) throws Exception {
    String last = "";
    for (int i = 0; i < 120; i++) {
      last = cluster.https(9404, "/q/health/ready");
      if (condition.test(last)) {
        return last;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("agent health never reached the expected state: " + last);
  }

  @Test
  @Order(7)
  void delIsIdempotentAndToleratesAMissingNamespace() throws Exception {
    String ns = NetnsCluster.netnsPath(other);
    assertThat(cluster.cni("DEL", "ctr-other", ns, "eth0", null, CONFIG).exitCode()).isZero();
    assertThat(cluster.cni("DEL", "ctr-other", ns, "eth0", null, CONFIG).exitCode()).isZero();
    // the pod's namespace is already gone
    NetnsCluster.run(List.of("ip", "netns", "del", client));
    NetnsCluster.Result gone =
        cluster.cni("DEL", "ctr-client", NetnsCluster.netnsPath(client), "eth0", null, CONFIG);
    assertThat(gone.exitCode()).as(gone.output()).isZero();
    assertThat(cluster.cni("DEL", "ctr-client", "", "eth0", null, CONFIG).exitCode()).isZero();
    assertThat(cluster.inNode("ip", "-o", "link").output().lines().filter(l -> l.contains("lxc")))
        .hasSize(1);
    NetnsCluster.Result list = cluster.cli("endpoint", "list", "-o", "json");
    assertThat(JSON.readTree(list.output())).hasSize(1);
  }
}
