package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Kubernetes NetworkPolicy on the upstream e2e model (test/e2e/network/netpol): namespaces x, y, z,
 * each with pods a, b, c serving TCP and UDP on ports 80 and 81, spread over a 3-node lab. Each
 * scenario applies NetworkPolicies unchanged from how a user writes them and probes the full
 * reachability matrix (every pod to every other pod, both ports, both protocols: 288 probes) from
 * inside the pods; the expected matrix comes from a reference written here, independently of
 * Porin's policy compiler, from the NetworkPolicy semantics (a connection needs the source's egress
 * and the destination's ingress to allow it).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.Tag("privileged")
class NetworkPolicyMatrixE2EIT {
  static final String LAB = "e2enp";
  static final List<String> NAMESPACES = List.of("x", "y", "z");
  static final List<String> PODS = List.of("a", "b", "c");
  static final List<Integer> PORTS = List.of(80, 81);
  static final List<String> PROTOS = List.of("tcp", "udp");

  static LabHarness lab = new LabHarness(LAB);
  static Map<String, LabHarness.Pod> pods;

  /** One probe of the matrix. */
  record Probe(String from, String to, String proto, int port) {
    String ns(String pod) {
      return pod.substring(0, 1);
    }

    String name(String pod) {
      return pod.substring(2);
    }
  }

  /** What a scenario allows: the reference. */
  interface Expect {
    boolean allowed(Probe p);
  }

  @BeforeAll
  static void up() throws Exception {
    lab.up(LAB, 3, 3);
    StringBuilder y = new StringBuilder();
    int i = 0;
    for (String ns : NAMESPACES) {
      y.append("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ")
          .append(ns)
          .append("\n  labels:\n    ns: ")
          .append(ns)
          .append("\n");
      for (String pod : PODS) {
        // Spread as the scheduler would, but fixed: each node gets one pod of each namespace.
        String node = LAB + "-node" + (1 + (i++ % 3));
        y.append("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ")
            .append(pod)
            .append("\n  namespace: ")
            .append(ns)
            .append("\n  labels:\n    pod: ")
            .append(pod)
            .append("\nspec:\n  nodeName: ")
            .append(node)
            .append("\n  containers:\n  - name: cont-80-81\n    image: agnhost\n    ports:\n")
            .append("    - containerPort: 80\n      protocol: TCP\n")
            .append("    - containerPort: 80\n      protocol: UDP\n")
            .append("    - containerPort: 81\n      protocol: TCP\n")
            .append("    - containerPort: 81\n      protocol: UDP\n");
      }
    }
    lab.apply(y.toString());
    pods = lab.pods();
    pods.keySet().removeIf(k -> k.startsWith("kube-system/")); // the lab's cluster DNS
    assertThat(pods.keySet()).hasSize(9);
  }

  @AfterAll
  static void down() throws Exception {
    lab.downAndCheckGone(LAB);
  }

  static String np(String ns, String name, String spec) {
    return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: "
        + name
        + "\n  namespace: "
        + ns
        + "\nspec:\n"
        + spec;
  }

  /** Applies the policies, waits for enforcement, probes the matrix, removes them. */
  void scenario(String title, List<String> names, String yaml, Expect expect) throws Exception {
    if (!yaml.isEmpty()) {
      lab.apply(yaml);
    }
    lab.awaitPolicies(NAMESPACES, names);
    try {
      List<String> wrong = new ArrayList<>();
      Map<Probe, Boolean> observed = matrix();
      int allowed = 0;
      for (var e : observed.entrySet()) {
        boolean want = expect.allowed(e.getKey());
        allowed += want ? 1 : 0;
        if (want != e.getValue()) {
          wrong.add(
              e.getKey().from()
                  + " -> "
                  + e.getKey().to()
                  + ":"
                  + e.getKey().port()
                  + "/"
                  + e.getKey().proto()
                  + " expected "
                  + (want ? "allowed" : "blocked")
                  + ", observed "
                  + (e.getValue() ? "allowed" : "blocked"));
        }
      }
      assertThat(observed).hasSize(288);
      assertThat(wrong).as(title + ": probes that disagree with the reference").isEmpty();
      System.out.printf("%s: %d of 288 allowed, as expected%n", title, allowed);
    } finally {
      if (!yaml.isEmpty()) {
        lab.delete(yaml);
        lab.awaitPolicies(NAMESPACES, List.of());
      }
    }
  }

  /** Every pod probes every other pod on both ports and protocols, all sources in parallel. */
  static Map<Probe, Boolean> matrix() throws Exception {
    Map<Probe, Boolean> result = new java.util.concurrent.ConcurrentHashMap<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(9)) {
      List<Future<?>> fs = new ArrayList<>();
      for (LabHarness.Pod from : pods.values()) {
        fs.add(
            pool.submit(
                () -> {
                  List<Probe> probes = new ArrayList<>();
                  List<String> lines = new ArrayList<>();
                  for (LabHarness.Pod to : pods.values()) {
                    if (to.key().equals(from.key())) {
                      continue; // a pod to itself never leaves its namespace
                    }
                    for (String proto : PROTOS) {
                      for (int port : PORTS) {
                        probes.add(new Probe(from.key(), to.key(), proto, port));
                        lines.add(proto + " " + to.ipv4() + " " + port);
                      }
                    }
                  }
                  List<Boolean> ok = LabHarness.probeAll(from, lines, 1500);
                  for (int i = 0; i < probes.size(); i++) {
                    result.put(probes.get(i), ok.get(i));
                  }
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    }
    return result;
  }

  @Test
  @Order(1)
  void noPoliciesEverythingReachable() throws Exception {
    scenario("no policies", List.of(), "", p -> true);
  }

  @Test
  @Order(2)
  void defaultDenyIngressInX() throws Exception {
    scenario(
        "deny all ingress in x",
        List.of("x/deny-all"),
        np("x", "deny-all", "  podSelector: {}\n  policyTypes:\n  - Ingress\n"),
        p -> !p.ns(p.to()).equals("x"));
  }

  @Test
  @Order(3)
  void allowFromPodInSameNamespace() throws Exception {
    scenario(
        "x/a only from x/b",
        List.of("x/allow-b-to-a"),
        np(
            "x",
            "allow-b-to-a",
            "  podSelector:\n    matchLabels:\n      pod: a\n  ingress:\n  - from:\n"
                + "    - podSelector:\n        matchLabels:\n          pod: b\n"),
        p -> !p.to().equals("x/a") || p.from().equals("x/b"));
  }

  @Test
  @Order(4)
  void allowFromNamespaceOnOnePort() throws Exception {
    scenario(
        "x/a only from namespace y on 80/TCP",
        List.of("x/allow-y-80"),
        np(
            "x",
            "allow-y-80",
            "  podSelector:\n    matchLabels:\n      pod: a\n  ingress:\n  - from:\n"
                + "    - namespaceSelector:\n        matchLabels:\n          ns: y\n"
                + "    ports:\n    - port: 80\n      protocol: TCP\n"),
        p ->
            !p.to().equals("x/a")
                || (p.ns(p.from()).equals("y") && p.proto().equals("tcp") && p.port() == 80));
  }

  @Test
  @Order(5)
  void namespaceAndPodSelectorInOnePeerIsAnd() throws Exception {
    scenario(
        "x/a only from y/b (namespaceSelector AND podSelector)",
        List.of("x/allow-yb"),
        np(
            "x",
            "allow-yb",
            "  podSelector:\n    matchLabels:\n      pod: a\n  ingress:\n  - from:\n"
                + "    - namespaceSelector:\n        matchLabels:\n          ns: y\n"
                + "      podSelector:\n        matchLabels:\n          pod: b\n"),
        p -> !p.to().equals("x/a") || p.from().equals("y/b"));
  }

  @Test
  @Order(6)
  void twoPeersAreOr() throws Exception {
    scenario(
        "x/a from namespace y OR from pod b of x",
        List.of("x/allow-y-or-b"),
        np(
            "x",
            "allow-y-or-b",
            "  podSelector:\n    matchLabels:\n      pod: a\n  ingress:\n  - from:\n"
                + "    - namespaceSelector:\n        matchLabels:\n          ns: y\n"
                + "    - podSelector:\n        matchLabels:\n          pod: b\n"),
        p -> !p.to().equals("x/a") || p.ns(p.from()).equals("y") || p.from().equals("x/b"));
  }

  @Test
  @Order(7)
  void egressOnlyToNamespaceOnUdp81() throws Exception {
    scenario(
        "x/a may only reach namespace z on 81/UDP",
        List.of("x/egress-z-81"),
        np(
            "x",
            "egress-z-81",
            "  podSelector:\n    matchLabels:\n      pod: a\n  policyTypes:\n  - Egress\n"
                + "  egress:\n  - to:\n    - namespaceSelector:\n        matchLabels:\n"
                + "          ns: z\n    ports:\n    - port: 81\n      protocol: UDP\n"),
        p ->
            !p.from().equals("x/a")
                || (p.ns(p.to()).equals("z") && p.proto().equals("udp") && p.port() == 81));
  }

  @Test
  @Order(8)
  void policiesInTwoNamespacesCombine() throws Exception {
    scenario(
        "x denies all ingress; y accepts only port 81 from anywhere",
        List.of("x/deny-all", "y/only-81"),
        np("x", "deny-all", "  podSelector: {}\n  policyTypes:\n  - Ingress\n")
            + np(
                "y",
                "only-81",
                "  podSelector: {}\n  ingress:\n  - ports:\n    - port: 81\n      protocol: TCP\n"
                    + "    - port: 81\n      protocol: UDP\n"),
        p -> !p.ns(p.to()).equals("x") && (!p.ns(p.to()).equals("y") || p.port() == 81));
  }
}
