package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Services in a 2-node lab, used as the guides use them: by name through the cluster DNS (IPv4 and
 * IPv6), translated by the socket load balancer and spread over backends on both nodes; DNS names
 * of services and pods; node ports reached from the lab's underlay on every node address; and a
 * running iperf3 transfer through a service that survives backends being added and taken out of the
 * service, while new connections keep succeeding.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Tag("privileged")
class ServicesE2EIT {
  static final String LAB = "e2esvc";
  static LabHarness lab = new LabHarness(LAB);
  static Map<String, LabHarness.Pod> pods;

  static String backend(String name, String node, String app) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: shop, labels: {app: %s}}
        spec:
          nodeName: %s
          containers:
          - name: web
            ports: [{name: http, containerPort: 8080}]
        ---
        """
        .formatted(name, app, node);
  }

  static final String SCENARIO =
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
          + backend("echo-1", LAB + "-node1", "echo")
          + backend("echo-2", LAB + "-node2", "echo")
          + """
          apiVersion: v1
          kind: Pod
          metadata: {name: client, namespace: shop, labels: {app: client}}
          spec: {nodeName: e2esvc-node1, containers: [{name: c}]}
          ---
          apiVersion: v1
          kind: Service
          metadata: {name: echo, namespace: shop}
          spec:
            selector: {app: echo}
            ports: [{name: web, port: 80, targetPort: http}]
          ---
          apiVersion: v1
          kind: Service
          metadata: {name: echo-np, namespace: shop}
          spec:
            type: NodePort
            selector: {app: echo}
            ports: [{name: web, port: 80, targetPort: http, nodePort: 30090}]
          ---
          apiVersion: v1
          kind: Service
          metadata: {name: perf, namespace: shop}
          spec:
            selector: {app: echo}
            sessionAffinity: ClientIP
            ports: [{name: iperf, port: 5201}]
          """;

  @BeforeAll
  static void up() throws Exception {
    // the agents run with the capabilities the Kubernetes manifest grants them, and no others
    lab.up(LAB, 2, 9, "--agent-capabilities", LabHarness.manifestAgentCapabilities());
    lab.apply(SCENARIO);
    pods = lab.pods();
    awaitBackends("shop/echo", 2);
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(LAB);
  }

  /** Waits until every node's agent has the service's frontends with n active backends each. */
  static void awaitBackends(String service, int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last = "";
    while (System.nanoTime() < deadline) {
      boolean all = true;
      for (String node : List.of(LAB + "-node1", LAB + "-node2")) {
        JsonNode j =
            LabHarness.JSON.readTree(lab.ok("--node", node, "service", "list", "-o", "json"));
        last = j.toString();
        int frontends = 0;
        for (JsonNode f : j.path("frontends")) {
          if (f.path("service").asText().equals(service)) {
            frontends++;
            long active = 0;
            for (JsonNode b : f.path("backends")) {
              active += b.path("state").asText().equals("active") ? 1 : 0;
            }
            all &= active == n;
          }
        }
        all &= frontends > 0;
      }
      if (all) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        service + " never had " + n + " active backends on both nodes: " + last);
  }

  static Repo.Result exec(String pod, String... argv) throws Exception {
    List<String> args = new ArrayList<>(List.of("lab", "exec", "-n", "shop", pod, "--"));
    args.addAll(List.of(argv));
    return lab.porin(args.toArray(String[]::new));
  }

  @Test
  @Order(1)
  void servicesAnswerByNameOverIpv4AndIpv6FromBackendsOnBothNodes() throws Exception {
    Set<String> seen = new HashSet<>();
    for (String family : List.of("-4", "-6")) {
      for (int i = 0; i < 12; i++) {
        Repo.Result r = exec("client", "curl", family, "-s", "-m", "3", "http://echo/");
        assertThat(r.exitCode()).as("curl %s echo: %s", family, r.stderr()).isZero();
        seen.add(r.stdout().strip());
      }
    }
    assertThat(seen).containsExactlyInAnyOrder("shop/echo-1", "shop/echo-2");
    // the flows name the service the connections were addressed to
    String flows = lab.ok("observe", "--to-service", "shop/echo", "--last", "50");
    assertThat(flows).contains("[service shop/echo]").contains("post-xlate-fwd TRANSLATED");
  }

  @Test
  @Order(2)
  void theClusterDnsAnswersForServicesAndPodsAndSaysWhatDoesNotExist() throws Exception {
    JsonNode svc = LabHarness.JSON.readTree(lab.ok("get", "services", "-n", "shop", "-o", "json"));
    List<String> ips = new ArrayList<>();
    for (JsonNode s : svc.path("services")) {
      if (s.path("name").asText().equals("echo")) {
        s.path("clusterIPs").forEach(ip -> ips.add(ip.asText()));
      }
    }
    assertThat(ips).hasSize(2);
    Repo.Result v4 = exec("client", "getent", "ahostsv4", "echo.shop.svc.cluster.local");
    assertThat(v4.stdout()).contains(ips.get(0));
    Repo.Result v6 = exec("client", "getent", "ahostsv6", "echo"); // through the search path
    assertThat(v6.stdout()).contains(ips.get(1));
    LabHarness.Pod echo1 = pods.get("shop/echo-1");
    String podName = echo1.ipv4().replace('.', '-') + ".shop.pod.cluster.local";
    assertThat(exec("client", "getent", "hosts", podName).stdout()).contains(echo1.ipv4());
    Repo.Result none = exec("client", "getent", "hosts", "nothing.shop.svc.cluster.local");
    assertThat(none.exitCode()).as("NXDOMAIN").isEqualTo(2);
    // kube-dns itself is a service like any other
    assertThat(lab.ok("get", "services", "-n", "kube-system")).contains("10.96.0.10");
  }

  @Test
  @Order(3)
  void aNodePortAnswersOnEveryNodeAddressFromTheUnderlay() throws Exception {
    JsonNode lab0 =
        LabHarness.JSON.readTree(
            Files.readString(LabHarness.LAB_DIR.resolve(LAB).resolve("lab.json")));
    List<String> addresses = new ArrayList<>();
    for (JsonNode n : lab0.path("nodes")) {
      addresses.add(n.path("address4").asText());
      addresses.add("[" + n.path("address6").asText() + "]");
    }
    assertThat(addresses).hasSize(4);
    Set<String> seen = new HashSet<>();
    for (String a : addresses) {
      for (int i = 0; i < 3; i++) {
        Process p =
            new ProcessBuilder(
                    "nsenter",
                    "--net=/var/run/netns/" + LAB + "-cp",
                    "curl",
                    "-s",
                    "-m",
                    "3",
                    "http://" + a + ":30090/")
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertThat(p.waitFor()).as("curl %s:30090 from the underlay: %s", a, out).isZero();
        seen.add(out);
      }
    }
    assertThat(seen).containsExactlyInAnyOrder("shop/echo-1", "shop/echo-2");
  }

  @Test
  @Order(4)
  void aTransferThroughAServiceSurvivesBackendChurnAndNewConnectionsNeverFail() throws Exception {
    // iperf3 servers beside porin-pod (5201 is no declared port, so nothing else holds it)
    for (String pod : List.of("echo-1", "echo-2")) {
      assertThat(exec(pod, "iperf3", "-s", "-D", "-p", "5201").exitCode()).isZero();
    }
    Path log = LabHarness.TARGET.resolve(LAB + "-iperf3.json");
    List<String> argv =
        new ArrayList<>(
            List.of(
                Repo.ROOT.resolve("bin/porin").toString(),
                "lab",
                "exec",
                "-n",
                "shop",
                "client",
                "--",
                "iperf3",
                "-c",
                "perf.shop.svc.cluster.local",
                "-t",
                "70",
                // paced, so that the churn beside it gets CPU on a 2-core machine
                "-b",
                "2G",
                "-J"));
    ProcessBuilder pb =
        new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(lab.env());
    Process iperf = pb.start();
    long started = System.nanoTime();
    Thread.sleep(1500);
    // churn: a third backend comes, echo-2 leaves the service (relabelled, still running), comes
    // back, the third leaves; new connections all the while
    List<String> failures = new ArrayList<>();
    // three new connections per phase, from one process (a JVM per curl would outlast the
    // transfer); any that fails makes the shell fail
    Runnable connections =
        () -> {
          try {
            Repo.Result c =
                exec(
                    "client",
                    "sh",
                    "-c",
                    "for i in 1 2 3; do curl -s -m 3 -o /dev/null http://echo/ || exit 1; done");
            if (c.exitCode() != 0) {
              failures.add("a connection failed: " + c.stdout() + c.stderr());
            }
          } catch (Exception e) {
            failures.add(e.toString());
          }
        };
    lab.apply(backend("echo-3", LAB + "-node2", "echo"));
    connections.run();
    lab.apply(backend("echo-2", LAB + "-node2", "moved"));
    connections.run();
    lab.apply(backend("echo-2", LAB + "-node2", "echo"));
    connections.run();
    lab.apply(backend("echo-3", LAB + "-node2", "moved"));
    connections.run();
    // the client's node's agent crashes and comes back: the maps are pinned, the transfer goes on
    lab.ok("lab", "restart", "--kill", LAB + "-node1");
    connections.run();
    assertThat(iperf.isAlive())
        .as(
            "the transfer (70 s) is still running after the churn, %d s after it started",
            (System.nanoTime() - started) / 1_000_000_000L)
        .isTrue();
    assertThat(iperf.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(log);
    assertThat(iperf.exitValue()).as(out).isZero();
    JsonNode result = LabHarness.JSON.readTree(out.substring(out.indexOf('{')));
    assertThat(result.path("error").isMissingNode()).as(out).isTrue();
    assertThat(result.path("end").path("sum_received").path("bytes").asLong()).isGreaterThan(0);
    assertThat(result.path("end").path("sum_received").path("seconds").asDouble())
        .isGreaterThan(69);
    assertThat(failures).as("new connections during the churn").isEmpty();
  }
}
