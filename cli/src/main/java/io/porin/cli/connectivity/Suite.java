package io.porin.cli.connectivity;

import io.porin.lab.Host;
import io.porin.lab.LabState;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The connectivity suite: two clients and two echo servers (one on the clients' node, one on
 * another node when there is one), and scenarios, each a policy (or none) and the probes it must
 * allow or block. A probe is {@code porin-pod probe} run inside the client pod's namespace: TCP
 * gets the echo server's HTTP answer (which names the pod), UDP its echo; TCP to a node or the
 * control plane (whose ports speak mutual TLS) counts a completed TCP handshake.
 */
final class Suite {
  static final int HTTP = 8080;
  static final int OTHER = 9090;
  static final int UDP = 5353;

  private final String ns;
  private final String podProgram;
  private final String node1;
  private final String node2;
  private final String controlPlane;
  private LabState lab;
  private java.util.function.Function<String, List<String>> clusterIps = name -> List.of();

  /**
   * A pod to probe: by name, a service (by name: its cluster IP; any echo pod answers), or a fixed
   * address (the node, the control plane).
   */
  record Target(String pod, String address, String what, String service) {
    Target(String pod, String address, String what) {
      this(pod, address, what, null);
    }
  }

  /** One probe and what it must show. */
  record Check(String from, Target to, String proto, int port, boolean ipv6, boolean allowed) {}

  /** A policy (or none) and its checks; {@code skip} says why a scenario cannot run yet. */
  record Scenario(
      String name,
      String policyYaml,
      int policyCount,
      String policyNames,
      List<Check> checks,
      String skip) {}

  /** What a check showed. */
  record Outcome(String scenario, String check, String result, String observed) {}

  Suite(String ns, LabState lab, String podProgram) {
    this.ns = ns;
    this.lab = lab;
    this.podProgram = podProgram;
    this.node1 = lab.nodes.getFirst().name;
    this.node2 = lab.nodes.size() > 1 ? lab.nodes.get(1).name : null;
    this.controlPlane = lab.controlPlane.address4;
  }

  void bind(LabState lab) {
    this.lab = lab;
  }

  /**
   * Waits until every echo pod serves: its program listens (a TCP probe from inside its own
   * namespace answers), so that a first check never meets a server still starting. Returns what did
   * not come up (empty when all did).
   */
  List<String> awaitServing(long timeoutMillis) throws InterruptedException {
    List<String> waiting = new java.util.ArrayList<>();
    for (LabState.Pod p : lab.pods.values()) {
      if (p.namespace.equals(ns) && p.name.startsWith("echo-") && !p.tcp.isEmpty()) {
        waiting.add(p.namespace + "/" + p.name);
      }
    }
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (!waiting.isEmpty() && System.nanoTime() < deadline) {
      for (String key : List.copyOf(waiting)) {
        LabState.Pod p = lab.pods.get(key);
        Host.Result r =
            Host.run(
                Host.inNetns(
                    p.netns,
                    List.of(
                        podProgram,
                        "probe",
                        "tcp",
                        "127.0.0.1",
                        Integer.toString(p.tcp.getFirst()),
                        "500")),
                java.util.Map.of(),
                null,
                10);
        if (r.ok()) {
          waiting.remove(key);
        }
      }
      if (!waiting.isEmpty()) {
        Thread.sleep(100);
      }
    }
    return waiting;
  }

  /** Where the suite's services' cluster IPs come from (the store), IPv4 first. */
  void clusterIps(java.util.function.Function<String, List<String>> lookup) {
    this.clusterIps = lookup;
  }

  String podsText() {
    return "client, client2, echo-same on "
        + node1
        + (node2 == null ? " (one node: no cross-node checks)" : ", echo-other on " + node2);
  }

  String namespaceYaml() {
    return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n";
  }

  String workloadYaml() {
    StringBuilder y = new StringBuilder(namespaceYaml());
    y.append(pod("client", "client", node1, false));
    y.append(pod("client2", "client", node1, false));
    y.append(pod("echo-same", "echo", node1, true));
    if (node2 != null) {
      y.append(pod("echo-other", "echo", node2, true));
    }
    y.append(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: echo\n  namespace: "
            + ns
            + "\nspec:\n  selector:\n    kind: echo\n  ports:\n  - name: http\n    port: 80\n"
            + "    targetPort: "
            + HTTP
            + "\n  - name: echo\n    port: "
            + UDP
            + "\n    protocol: UDP\n");
    return y.toString();
  }

  private String pod(String name, String kind, String node, boolean serves) {
    String ports =
        serves
            ? "    ports:\n    - containerPort: "
                + HTTP
                + "\n    - containerPort: "
                + OTHER
                + "\n    - containerPort: "
                + UDP
                + "\n      protocol: UDP\n"
            : "";
    return "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: "
        + name
        + "\n  namespace: "
        + ns
        + "\n  labels:\n    kind: "
        + kind
        + "\n    name: "
        + name
        + "\nspec:\n  nodeName: "
        + node
        + "\n  containers:\n  - name: main\n    image: porin-pod\n"
        + ports;
  }

  private String cnp(String name, String selector, String body) {
    return "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: "
        + name
        + "\n  namespace: "
        + ns
        + "\nspec:\n  endpointSelector:\n    matchLabels:\n      "
        + selector
        + "\n"
        + body;
  }

  private Target pod(String name) {
    return new Target(name, null, ns + "/" + name);
  }

  /** The echo servers: the same node's, and the other node's when there is one. */
  private List<Target> echoes() {
    List<Target> t = new ArrayList<>(List.of(pod("echo-same")));
    if (node2 != null) {
      t.add(pod("echo-other"));
    }
    return t;
  }

  private List<Check> each(String from, String proto, int port, boolean allowed) {
    return echoes().stream().map(e -> new Check(from, e, proto, port, false, allowed)).toList();
  }

  private static List<Check> concat(List<List<Check>> parts) {
    return parts.stream().flatMap(List::stream).toList();
  }

  List<Scenario> scenarios() {
    List<Scenario> s = new ArrayList<>();
    s.add(
        new Scenario(
            "no policy: pod to pod, on one node and across nodes",
            null,
            0,
            "",
            concat(
                List.of(
                    each("client", "tcp", HTTP, true),
                    each("client", "udp", UDP, true),
                    echoes().stream()
                        .map(e -> new Check("client", e, "tcp", HTTP, true, true))
                        .toList())),
            null));
    Target service = new Target(null, null, ns + "/echo (service)", "echo");
    s.add(
        new Scenario(
            "pod to service (cluster IP, socket load balancing)",
            null,
            0,
            "",
            List.of(
                new Check("client", service, "tcp", 80, false, true),
                new Check("client", service, "tcp", 80, true, true),
                new Check("client", service, "udp", UDP, false, true)),
            null));
    s.add(
        new Scenario(
            "default deny",
            cnp("echo-default-deny", "kind: echo", "  ingress: []\n"),
            1,
            "echo-default-deny",
            concat(List.of(each("client", "tcp", HTTP, false), each("client", "udp", UDP, false))),
            null));
    s.add(
        new Scenario(
            "allow by label",
            cnp(
                "echo-from-client",
                "kind: echo",
                "  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        name: client\n"),
            1,
            "echo-from-client",
            concat(
                List.of(
                    each("client", "tcp", HTTP, true),
                    each("client2", "tcp", HTTP, false),
                    // through the service: policy meets the backend and the client's identity
                    List.of(
                        new Check("client", service, "tcp", 80, false, true),
                        new Check("client2", service, "tcp", 80, false, false)))),
            null));
    s.add(
        new Scenario(
            "deny beats allow",
            cnp(
                "echo-allow-all-deny-client2",
                "kind: echo",
                "  ingress:\n  - fromEndpoints:\n    - {}\n  ingressDeny:\n  - fromEndpoints:\n"
                    + "    - matchLabels:\n        name: client2\n"),
            1,
            "echo-allow-all-deny-client2",
            concat(List.of(each("client", "tcp", HTTP, true), each("client2", "tcp", HTTP, false))),
            null));
    s.add(
        new Scenario(
            "L4 ports",
            cnp(
                "echo-port-" + HTTP,
                "kind: echo",
                "  ingress:\n  - fromEndpoints:\n    - matchLabels:\n        kind: client\n"
                    + "    toPorts:\n    - ports:\n      - port: \""
                    + HTTP
                    + "\"\n        protocol: TCP\n"),
            1,
            "echo-port-" + HTTP,
            concat(
                List.of(
                    each("client", "tcp", HTTP, true),
                    each("client", "tcp", OTHER, false),
                    each("client", "udp", UDP, false))),
            null));
    Target host = new Target(null, "gateway", node1 + " (entity host)");
    s.add(
        new Scenario(
            "entity host",
            cnp("client-to-host", "name: client", "  egress:\n  - toEntities:\n    - host\n"),
            1,
            "client-to-host",
            concat(
                List.of(
                    List.of(new Check("client", host, "tcp", 9404, false, true)),
                    each("client", "tcp", HTTP, false))),
            null));
    Target world = new Target(null, controlPlane, controlPlane + " (outside the cluster: world)");
    s.add(
        new Scenario(
            "entity cluster",
            cnp("client-to-cluster", "name: client", "  egress:\n  - toEntities:\n    - cluster\n"),
            1,
            "client-to-cluster",
            concat(
                List.of(
                    each("client", "tcp", HTTP, true),
                    List.of(new Check("client", world, "tcp", 9401, false, false)))),
            null));
    s.add(
        new Scenario(
            "CIDR",
            cnp(
                "client-to-cidr",
                "name: client",
                "  egress:\n  - toCIDR:\n    - " + controlPlane + "/32\n"),
            1,
            "client-to-cidr",
            concat(
                List.of(
                    List.of(new Check("client", world, "tcp", 9401, false, true)),
                    // CIDR rules do not select in-cluster peers (Cilium's default).
                    each("client", "tcp", HTTP, false))),
            null));
    return s;
  }

  /** Runs one probe and judges it. */
  Outcome run(Scenario sc, Check c) {
    LabState.Pod from = lab.pods.get(ns + "/" + c.from());
    String address;
    if (c.to().pod() != null) {
      LabState.Pod to = lab.pods.get(ns + "/" + c.to().pod());
      address = c.ipv6() ? to.ipv6 : to.ipv4;
    } else if (c.to().service() != null) {
      List<String> ips = clusterIps.apply(c.to().service());
      address =
          ips.stream()
              .filter(ip -> ip.contains(":") == c.ipv6())
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "service "
                              + ns
                              + "/"
                              + c.to().service()
                              + " has no cluster IP "
                              + (c.ipv6() ? "of IPv6" : "of IPv4")
                              + ": "
                              + ips));
    } else if (c.to().address().equals("gateway")) {
      address = gateway(from.netns);
    } else {
      address = c.to().address();
    }
    String name =
        ns
            + "/"
            + c.from()
            + " -> "
            + c.to().what()
            + ":"
            + c.port()
            + "/"
            + c.proto().toUpperCase(java.util.Locale.ROOT)
            + (c.ipv6() ? " over IPv6" : "")
            + " must be "
            + (c.allowed() ? "allowed" : "blocked");
    // A blocked probe waits out its timeout; an allowed one answers at once.
    Host.Result r =
        ConnectivityCommand.probe(
            io.porin.lab.Cgroups.pod(lab.name, from.node, from.namespace, from.name),
            from.netns,
            List.of(
                podProgram,
                "probe",
                // the nodes' and the control plane's ports speak TLS (mutual, Porin's own), not
                // HTTP: for them a completed TCP handshake is the answer
                c.proto().equals("tcp") && c.to().pod() == null && c.to().service() == null
                    ? "connect"
                    : c.proto(),
                address,
                Integer.toString(c.port()),
                c.allowed() ? "3000" : "1500"));
    String answer = r.output().strip();
    boolean answered = r.ok();
    String observed =
        answered
            ? "answered (" + (c.proto().equals("udp") ? "echo" : firstLine(answer)) + ")"
            : "no answer (" + answer + ")";
    boolean pass = answered == c.allowed();
    if (pass
        && answered
        && c.to().pod() == null
        && c.to().service() != null
        && c.proto().equals("tcp")
        && !answer.contains(ns + "/echo-")) {
      pass = false;
      observed += ", but not from an echo pod";
    }
    if (pass && answered && c.to().pod() != null && c.proto().equals("tcp")) {
      String expected = ns + "/" + c.to().pod();
      if (!answer.contains(expected)) {
        pass = false;
        observed += ", but not from " + expected;
      }
    }
    return new Outcome(sc.name(), name, pass ? "pass" : "fail", address + ": " + observed);
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    String l = nl < 0 ? s : s.substring(0, nl);
    return l.length() > 80 ? l.substring(0, 80) + "..." : l;
  }

  private static final Pattern VIA = Pattern.compile("default via (\\S+)");

  private static String gateway(String netns) {
    Host.Result r =
        Host.run(
            Host.inNetns(netns, List.of("ip", "-4", "route", "show", "default")),
            java.util.Map.of(),
            null,
            10);
    Matcher m = VIA.matcher(r.output());
    if (!m.find()) {
      throw new IllegalStateException(
          "pod namespace " + netns + " has no default route: " + r.output());
    }
    return m.group(1);
  }
}
