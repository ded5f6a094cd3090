package io.porin.cli.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.api.agent.v1.AgentStatus;
import io.porin.api.agent.v1.Endpoint;
import io.porin.api.resource.v1.StoredResource;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import io.porin.lab.LabState;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin get pods|services|nodes}: what the cluster runs, as kubectl get would show it. */
@Command(
    name = "get",
    description = {
      "Pods (node, IPs, identity, labels, network namespace), services (selector, ports,",
      "backends) or nodes (agent, pod CIDRs, endpoints, policy revision)."
    })
public class GetCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "pods|services|nodes")
  String what;

  @Option(
      names = {"-n", "--namespace"},
      description = "Only this namespace (default: default)")
  String namespace = "default";

  @Option(
      names = {"-A", "--all-namespaces"},
      description = "Every namespace")
  boolean all;

  @Override
  public Integer call() {
    String ns = all ? "" : namespace;
    try (Cluster c = new Cluster(GlobalOptions.of(spec).context().context())) {
      return switch (what) {
        case "pods", "pod", "po" -> pods(c, ns);
        case "services", "service", "svc" -> services(c, ns);
        case "nodes", "node", "no" -> nodes(c);
        default -> {
          spec.commandLine()
              .getErr()
              .println("porin: get: \"" + what + "\" is not one of pods, services, nodes");
          yield Main.BAD_INPUT;
        }
      };
    }
  }

  /** A pod as the store, its node's agent and (in a lab) the lab's runtime see it. */
  record PodView(
      String namespace,
      String name,
      Map<String, String> labels,
      String node,
      String ipv4,
      String ipv6,
      long identity,
      String netns,
      String status) {}

  static List<PodView> podViews(Cluster c, String ns, List<String> errors) {
    var stored = c.stored("pods", ns);
    if (!stored.ok()) {
      errors.add(stored.error());
      return List.of();
    }
    Map<String, Cluster.NodeEndpoint> byPod = new TreeMap<>();
    for (Cluster.NodeEndpoint e : c.endpoints(errors)) {
      if (!e.endpoint().getPod().isEmpty()) {
        byPod.put(e.endpoint().getNamespace() + "/" + e.endpoint().getPod(), e);
      }
    }
    LabState lab =
        c.context().lab() == null
            ? null
            : io.porin.cli.Env.labDirectory().load(c.context().lab()).orElse(null);
    List<PodView> views = new ArrayList<>();
    for (StoredResource r : stored.value()) {
      JsonNode meta = readTree(r.getJson()).path("metadata");
      Map<String, String> labels = new TreeMap<>();
      meta.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
      String key = r.getRef().getNamespace() + "/" + r.getRef().getName();
      Cluster.NodeEndpoint ne = byPod.get(key);
      LabState.Pod lp = lab == null ? null : lab.pods.get(key);
      Endpoint e = ne == null ? null : ne.endpoint();
      String status =
          e != null
              ? e.getState() + (e.getStateDetail().isEmpty() ? "" : " (" + e.getStateDetail() + ")")
              : lp != null
                  ? lp.status + (lp.detail == null ? "" : " (" + lp.detail + ")")
                  : "pending (no endpoint)";
      views.add(
          new PodView(
              r.getRef().getNamespace(),
              r.getRef().getName(),
              labels,
              ne != null ? ne.node() : lp != null ? lp.node : "",
              e != null ? e.getIpv4() : "",
              e != null ? e.getIpv6() : "",
              e != null ? Integer.toUnsignedLong(e.getIdentity()) : 0,
              e != null ? e.getNetns() : lp != null ? "/var/run/netns/" + lp.netns : "",
              status));
    }
    return views;
  }

  private int pods(Cluster c, String ns) {
    List<String> errors = new ArrayList<>();
    List<PodView> views = podViews(c, ns, errors);
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      Output.json(out, Map.of("pods", views, "errors", errors));
    } else {
      Table t =
          new Table(
              "NAMESPACE", "NAME", "NODE", "IPv4", "IPv6", "IDENTITY", "LABELS", "NETNS", "STATUS");
      for (PodView v : views) {
        t.row(
            v.namespace(),
            v.name(),
            v.node(),
            v.ipv4(),
            v.ipv6(),
            v.identity() == 0 ? "" : Long.toString(v.identity()),
            labelText(v.labels()),
            v.netns(),
            v.status());
      }
      t.print(out);
      errors.forEach(e -> out.println("warning: " + e));
      out.flush();
    }
    return views.isEmpty() && !errors.isEmpty() ? ServiceCall.FAILED : 0;
  }

  private int services(Cluster c, String ns) {
    List<String> errors = new ArrayList<>();
    var stored = c.stored("services", ns);
    if (!stored.ok()) {
      spec.commandLine().getErr().println("porin: " + stored.error());
      return ServiceCall.FAILED;
    }
    List<PodView> pods = podViews(c, ns, errors);
    List<Map<String, Object>> json = new ArrayList<>();
    Table t = new Table("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORTS", "SELECTOR", "BACKENDS");
    for (StoredResource r : stored.value()) {
      JsonNode svc = readTree(r.getJson());
      Map<String, String> selector = new TreeMap<>();
      svc.path("spec")
          .path("selector")
          .properties()
          .forEach(e -> selector.put(e.getKey(), e.getValue().asText()));
      List<String> ports = new ArrayList<>();
      for (JsonNode p : svc.path("spec").path("ports")) {
        ports.add(
            p.path("port").asInt()
                + (p.path("nodePort").asInt(0) != 0 ? ":" + p.path("nodePort").asInt() : "")
                + "/"
                + p.path("protocol").asText("TCP"));
      }
      List<String> clusterIps = new ArrayList<>();
      svc.path("spec").path("clusterIPs").forEach(ip -> clusterIps.add(ip.asText()));
      String type = svc.path("spec").path("type").asText("ClusterIP");
      List<String> backends =
          pods.stream()
              .filter(p -> p.namespace().equals(r.getRef().getNamespace()))
              .filter(
                  p ->
                      !selector.isEmpty() && p.labels().entrySet().containsAll(selector.entrySet()))
              .map(p -> p.name() + (p.ipv4().isEmpty() ? "" : "=" + p.ipv4()))
              .toList();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("namespace", r.getRef().getNamespace());
      m.put("name", r.getRef().getName());
      m.put("type", type);
      m.put("clusterIPs", clusterIps);
      m.put("selector", selector);
      m.put("ports", ports);
      m.put("backends", backends);
      json.add(m);
      t.row(
          r.getRef().getNamespace(),
          r.getRef().getName(),
          type,
          clusterIps.isEmpty() ? "<none>" : String.join(",", clusterIps),
          String.join(",", ports),
          labelText(selector),
          String.join(",", backends));
    }
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      Output.json(out, Map.of("services", json, "errors", errors));
    } else {
      t.print(out);
      errors.forEach(e -> out.println("warning: " + e));
      out.flush();
    }
    return 0;
  }

  private int nodes(Cluster c) {
    List<Map<String, Object>> json = new ArrayList<>();
    Table t =
        new Table(
            "NAME", "AGENT", "STATUS", "IPv4 CIDR", "IPv6 CIDR", "ENDPOINTS", "POLICY REVISION");
    boolean anyDown = false;
    for (var e : c.agentStatuses().entrySet()) {
      String address = c.context().agents().get(e.getKey());
      AgentStatus s = e.getValue().value();
      String status =
          s == null
              ? e.getValue().error()
              : s.getReady() ? "Ready" : "NotReady (" + s.getControlPlane() + ")";
      anyDown |= s == null || !s.getReady();
      String name = s != null ? s.getNode() : e.getKey();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", name);
      m.put("agent", address);
      m.put("ready", s != null && s.getReady());
      m.put("status", status);
      m.put("ipv4Cidrs", s == null ? List.of() : s.getIpv4CidrsList());
      m.put("ipv6Cidrs", s == null ? List.of() : s.getIpv6CidrsList());
      m.put("endpoints", s == null ? 0 : s.getEndpoints());
      m.put("policyRevision", s == null ? 0 : s.getPolicyRevision());
      json.add(m);
      t.row(
          name,
          address,
          status,
          s == null ? "" : String.join(",", s.getIpv4CidrsList()),
          s == null ? "" : String.join(",", s.getIpv6CidrsList()),
          s == null ? "" : Integer.toString(s.getEndpoints()),
          s == null ? "" : Long.toString(s.getPolicyRevision()));
    }
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      Output.json(out, json);
    } else {
      t.print(out);
      out.flush();
    }
    return anyDown ? ServiceCall.FAILED : 0;
  }

  static String labelText(Map<String, String> labels) {
    return labels.entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
  }

  static JsonNode readTree(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("the store answered what is not JSON: " + e.getMessage());
    }
  }
}
