package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The control plane as a pod and an operator meet it, in a 2-node lab whose certificates live 60 s
 * (so they renew every 40 s during the test): a process in a pod that connects to any control-plane
 * port without a certificate gets nothing but a TLS failure; certificates renew under live streams
 * and traffic; etcd and the policy service killed and restarted come back (revisions never go
 * backwards) while the datapath keeps enforcing; a revoked node is cut off and keeps enforcing what
 * it had.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Tag("privileged")
class ControlPlaneSecurityE2EIT {
  static final String LAB = "e2esec";
  static final int CLUSTER_ID = 11;
  static LabHarness lab = new LabHarness(LAB);
  static Map<String, LabHarness.Pod> pods;

  static final String SCENARIO =
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: t}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: a, namespace: t, labels: {app: a}}
      spec: {nodeName: e2esec-node1, containers: [{name: c, ports: [{containerPort: 8080}]}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: b, namespace: t, labels: {app: b}}
      spec: {nodeName: e2esec-node2, containers: [{name: c, ports: [{containerPort: 8080}]}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: c, namespace: t, labels: {app: c}}
      spec: {nodeName: e2esec-node2, containers: [{name: c, ports: [{containerPort: 8080}]}]}
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: b-from-a, namespace: t}
      spec:
        endpointSelector: {matchLabels: {app: b}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: a}}]
          toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: c-closed, namespace: t}
      spec:
        endpointSelector: {matchLabels: {app: c}}
        ingress: []
      """;

  @BeforeAll
  static void up() throws Exception {
    lab.up(LAB, 2, CLUSTER_ID, "--cert-validity", "60s");
    lab.apply(SCENARIO);
    pods = lab.pods();
    lab.ok("status", "--wait", "60s");
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(LAB);
  }

  static String cp() {
    return "172.30." + CLUSTER_ID + ".1";
  }

  static String node(int i) {
    return "172.30." + CLUSTER_ID + "." + (10 + i);
  }

  /** a -> b:8080 (allowed) and a -> c:8080 (dropped), as the datapath decides them now. */
  static List<Boolean> enforcement() throws Exception {
    return LabHarness.probeAll(
        pods.get("t/a"),
        List.of(
            "tcp " + pods.get("t/b").ipv4() + " 8080", "tcp " + pods.get("t/c").ipv4() + " 8080"),
        1500);
  }

  static void assertEnforcing(String when) throws Exception {
    assertThat(enforcement())
        .as("a->b allowed, a->c dropped, " + when)
        .containsExactly(true, false);
  }

  /** curl from pod a: its exit code and what it says (%{http_code} %{errormsg}). */
  static String[] curlFromPod(String url, String... options) throws Exception {
    List<String> argv =
        new ArrayList<>(
            List.of(
                "nsenter",
                "--net=" + pods.get("t/a").netns(),
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-m",
                "5",
                "-w",
                "%{http_code} %{errormsg}"));
    argv.addAll(List.of(options));
    argv.add(url);
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return new String[] {Integer.toString(p.exitValue()), out};
  }

  @Test
  @Order(1)
  void aPodWithoutACertificateGetsNothingButATlsFailure() throws Exception {
    List<String> ports = new ArrayList<>();
    for (int port : List.of(9401, 9402, 9403, 4245, 2379)) {
      ports.add(cp() + ":" + port);
    }
    ports.add(node(1) + ":9404");
    ports.add(node(2) + ":9404");
    for (String hostPort : ports) {
      // plaintext (HTTP/1.1, and so also h2c gRPC): the server hangs up, nothing is served
      String[] plain = curlFromPod("http://" + hostPort + "/q/health");
      assertThat(plain[1]).as("plaintext to %s", hostPort).startsWith("000");
      assertThat(plain[0])
          .as("plaintext to %s reached the port (no timeout): %s", hostPort, plain[1])
          .isNotEqualTo("28");
      // TLS without a client certificate: the handshake fails. The server's alert (TLS 1.3
      // "certificate required") races the client's last handshake records: when they arrive
      // after the server closed, the client sees a reset instead. Every attempt fails; one of a
      // few shows the alert.
      boolean alertSeen = false;
      for (int attempt = 0; attempt < 10 && !alertSeen; attempt++) {
        String[] tls = curlFromPod("https://" + hostPort + "/q/health", "-k");
        assertThat(tls[1]).as("TLS without a certificate to %s", hostPort).startsWith("000");
        assertThat(tls[0])
            .as("TLS to %s reached the port: %s", hostPort, tls[1])
            .isNotEqualTo("28");
        alertSeen = tls[1].contains("certificate required") || hostPort.endsWith(":2379");
      }
      assertThat(alertSeen).as("%s asks for a certificate", hostPort).isTrue();
    }
    // the lab admin's certificate is served (the port is reachable from the pod: only the
    // certificate was missing)
    String[] admin =
        curlFromPod(
            "https://" + cp() + ":9403/q/health/live",
            LabHarness.adminTls(LAB).toArray(String[]::new));
    assertThat(admin[1]).startsWith("200");
  }

  @Test
  @Order(2)
  void certificatesRenewUnderLiveStreamsAndTraffic() throws Exception {
    assertEnforcing("before the first renewal");
    // a follower of a's flows through the relay, open across every renewal
    Path followErr = Files.createTempFile("porin-follow", ".err");
    LabHarness.Running follow =
        lab.start(followErr.toFile(), "observe", "--follow", "--from-pod", "t/a", "-o", "json");
    java.util.concurrent.BlockingQueue<String> flows = follow.lines();
    try {
      // 60 s certificates, renewed at 40 s: past 75 s every component runs on a renewed one, and
      // every first certificate has expired; traffic flows meanwhile
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(75);
      while (System.nanoTime() < until) {
        enforcement();
        Thread.sleep(3000);
      }
      flows.clear();
      assertEnforcing("after every first certificate expired");
      // the follower still gets a's flows, from both nodes (a's egress on node1, b's and c's
      // ingress on node2), through streams the relay moved to its renewed certificate
      java.util.Set<String> seenOn = new java.util.TreeSet<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (seenOn.size() < 2 && System.nanoTime() < deadline) {
        String l = flows.poll(1, TimeUnit.SECONDS);
        if (l == null) {
          enforcement();
          continue;
        }
        for (int i = 1; i <= 2; i++) {
          if (l.contains(LAB + "-node" + i)) {
            seenOn.add(LAB + "-node" + i);
          }
        }
      }
      assertThat(seenOn).as("nodes whose flows reach the follower after renewals").hasSize(2);
      assertThat(Files.readString(followErr))
          .as("the follower never saw a node go unavailable")
          .doesNotContain("warning: node");
    } finally {
      follow.close();
      Files.deleteIfExists(followErr);
    }
    Path logs = LabHarness.LAB_DIR.resolve(LAB).resolve("logs");
    for (String component :
        List.of(
            "identity",
            "ipam",
            "policy",
            "relay",
            "agent-" + LAB + "-node1",
            "agent-" + LAB + "-node2",
            "pod-kube-system-coredns")) {
      String log = Files.readString(logs.resolve(component + ".log"));
      assertThat(log).as(component).contains("renewed the certificate");
      assertThat(log).as(component).doesNotContain("renewing the certificate of");
    }
    // no agent lost its policy stream meanwhile: each moved it to its renewed certificate
    for (int i = 1; i <= 2; i++) {
      String log = Files.readString(logs.resolve("agent-" + LAB + "-node" + i + ".log"));
      assertThat(log).contains("moved the policy stream to a new connection");
      assertThat(log.lines().filter(l -> l.contains("PolicySubscriber") && l.contains("WARN")))
          .as("policy stream failures of node%d", i)
          .isEmpty();
    }
    assertEnforcing("after renewals");
    // the streams still carry changes: a new policy reaches both nodes
    lab.apply(
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: a-closed, namespace: t}
        spec:
          endpointSelector: {matchLabels: {app: a}}
          ingress: []
        """);
    JsonNode status = LabHarness.JSON.readTree(lab.ok("status", "--wait", "30s", "-o", "json"));
    assertThat(status.path("ok").asBoolean()).as(status.toPrettyString()).isTrue();
    assertThat(status.toString()).contains("Certificates");
  }

  /** The policy revision and how many nodes acknowledged it, from porin policy wait. */
  static long[] revisionAndAcks() throws Exception {
    Repo.Result r = lab.porin("policy", "wait", "--timeout", "1s", "-o", "json");
    JsonNode j;
    try {
      j = LabHarness.JSON.readTree(r.stdout());
    } catch (java.io.IOException notAnswered) {
      return new long[] {-1, 0};
    }
    if (j == null || !j.has("revision")) {
      return new long[] {-1, 0};
    }
    long revision = j.path("revision").asLong();
    long acked =
        Stream.of(j.path("nodes"))
            .flatMap(n -> java.util.stream.StreamSupport.stream(n.spliterator(), false))
            .filter(n -> n.path("acknowledged").asLong() >= revision)
            .count();
    return new long[] {revision, acked};
  }

  @Test
  @Order(3)
  void etcdAndThePolicyServiceRestartedAreBackAndEnforcementNeverStops() throws Exception {
    long before = revisionAndAcks()[0];
    for (String component : List.of("etcd", "policy")) {
      ProcessBuilder pb =
          new ProcessBuilder("bin/porin", "lab", "restart", "--name", LAB, "--kill", component)
              .directory(Repo.ROOT.toFile())
              .redirectErrorStream(true);
      pb.environment().putAll(lab.env());
      Process restart = pb.start();
      // the datapath keeps enforcing while the control plane is away
      while (restart.isAlive()) {
        assertEnforcing("while " + component + " restarts");
      }
      assertThat(restart.exitValue())
          .as(new String(restart.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isZero();
      long back = System.nanoTime();
      long[] now = revisionAndAcks();
      while ((now[1] < 2 || now[0] < before)
          && System.nanoTime() - back < TimeUnit.SECONDS.toNanos(60)) {
        Thread.sleep(200);
        now = revisionAndAcks();
      }
      System.out.printf(
          "%s restarted: both agents at revision %d %d ms after it was ready%n",
          component, now[0], (System.nanoTime() - back) / 1_000_000);
      assertThat(now[1]).as("both agents re-subscribed after %s came back", component).isEqualTo(2);
      assertThat(now[0]).as("the revision never goes backwards").isGreaterThanOrEqualTo(before);
      before = now[0];
      assertEnforcing("after " + component + " is back");
    }
  }

  @Test
  @Order(4)
  void aRevokedNodeIsCutOffAndKeepsEnforcingWhatItHad() throws Exception {
    String out = lab.ok("ca", "revoke", "--node", LAB + "-node2");
    assertThat(out).contains("revoked the certificates of node/" + LAB + "-node2");
    assertThat(lab.ok("ca", "revoked", "-o", "json")).contains(LAB + "-node2");
    // its policy stream ends and it is refused from then on
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String node2 = "";
    while (System.nanoTime() < deadline) {
      node2 = lab.porin("status", "-o", "json").stdout();
      if (node2.contains("revoked")) {
        break;
      }
      Thread.sleep(500);
    }
    assertThat(node2).contains("PERMISSION_DENIED").contains("revoked");
    // its datapath keeps what it had: b still takes a, c still refuses it
    assertEnforcing("on the revoked node");
    // etcd no longer takes its writes, even its own node record
    Path home = LabHarness.LAB_DIR.resolve(LAB);
    String cert = home.resolve("pki/node." + LAB + "-node2.pem").toString();
    Process put =
        new ProcessBuilder(
                "nsenter",
                "--net=/run/netns/" + LAB + "-cp",
                "etcdctl",
                "--endpoints",
                "https://127.0.0.1:2379",
                "--cacert",
                home.resolve("ca/ca.crt").toString(),
                "--cert",
                cert,
                "--key",
                cert,
                "put",
                "/porin/v1/nodes/" + LAB + "-node2",
                "{}")
            .redirectErrorStream(true)
            .start();
    String refused = new String(put.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(put.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(put.exitValue()).as(refused).isNotZero();
    // and the audit log says who did it
    assertThat(lab.ok("audit", "log", "--since", "10m", "-o", "json"))
        .contains("\"action\" : \"revoke\"")
        .contains("admin/" + LAB);
  }
}
