package io.porin.cli.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.porin.api.agent.v1.AgentStatus;
import io.porin.api.agent.v1.EncryptionStatus;
import io.porin.api.policy.v1.WaitRequest;
import io.porin.api.policy.v1.WaitResponse;
import io.porin.cli.GlobalOptions;
import io.porin.cli.ServiceCall;
import io.porin.cli.context.Contexts;
import io.porin.cli.encrypt.EncryptionView;
import io.porin.cli.output.Colors;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin status}: the installation at a glance, as {@code cilium status}. */
@Command(
    name = "status",
    description = {
      "The control-plane services and etcd, each node's agent, transparent encryption,",
      "endpoints, identities, the policy revision and whether every node enforces it. Exit 1",
      "unless all is OK."
    })
public class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--no-color", description = "No colours, even on a terminal")
  boolean noColor;

  @Option(
      names = "--wait",
      description = "Wait up to this long (e.g. 30s) for everything to be OK",
      converter = io.porin.cli.Durations.Converter.class)
  Duration wait = Duration.ZERO;

  /** One line of the view: what, OK or not, and the details. */
  public record Line(String what, boolean ok, String detail) {}

  /** The view: its lines, and each reachable node's encryption for -o json. */
  public record View(List<Line> lines, List<Map<String, Object>> encryption) {}

  @Override
  public Integer call() throws InterruptedException {
    Contexts.Named ctx = GlobalOptions.of(spec).context();
    long deadline = System.nanoTime() + wait.toNanos();
    List<Line> lines;
    View view;
    while (true) {
      try (Cluster c = new Cluster(ctx.context())) {
        view = collect(c);
      }
      lines = view.lines();
      if (lines.stream().allMatch(Line::ok) || System.nanoTime() >= deadline) {
        break;
      }
      Thread.sleep(500);
    }
    boolean ok = lines.stream().allMatch(Line::ok);
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("context", ctx.name());
      m.put("lab", ctx.context().lab());
      m.put("ok", ok);
      m.put("status", lines);
      m.put("encryption", view.encryption());
      Output.json(out, m);
    } else {
      out.println(
          "Context:          "
              + ctx.name()
              + (ctx.context().lab() != null ? " (lab " + ctx.context().lab() + ")" : ""));
      Colors colors = Colors.of(noColor);
      for (Line l : lines) {
        out.println(line(l, colors));
      }
      out.flush();
    }
    return ok ? 0 : ServiceCall.FAILED;
  }

  /** One line of the table: what, OK (green) or NOT OK (red), the details. */
  static String line(Line l, Colors colors) {
    String verdict = String.format("%-9s", l.ok() ? "OK" : "NOT OK");
    return String.format("%-17s ", l.what() + ":")
        + (l.ok() ? colors.green(verdict) : colors.red(verdict))
        + " "
        + l.detail();
  }

  /**
   * Each component's certificate (as its server showed it) and this CLI's: when it expires. A
   * short-lived certificate (a day or less) is renewed at two thirds of its life, so one past that
   * is late; a longer-lived one (a user's) that expires within a day is a warning too.
   */
  static Line certificates(Cluster c) {
    Contexts.Context ctx = c.context();
    if (ctx.isInsecure()) {
      return new Line("Certificates", true, "NONE: context is --insecure (plaintext)");
    }
    java.time.Instant now = java.time.Instant.now();
    List<String> parts = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    boolean ok = true;
    Map<String, java.security.cert.X509Certificate> seen = new java.util.TreeMap<>();
    c.certificates().values().forEach(x -> seen.put(describe(x), x));
    io.porin.cli.context.ContextTls.of(ctx)
        .ifPresent(t -> seen.put("you (" + t.self() + ")", t.keys().current().leaf()));
    for (var e : seen.entrySet()) {
      java.time.Instant notBefore = io.porin.tls.Revocations.issuedAt(e.getValue());
      java.time.Instant notAfter = e.getValue().getNotAfter().toInstant();
      java.time.Duration left = java.time.Duration.between(now, notAfter);
      java.time.Duration life = java.time.Duration.between(notBefore, notAfter);
      parts.add(e.getKey() + " " + human(left));
      if (left.isNegative()) {
        ok = false;
        warnings.add(e.getKey() + " EXPIRED");
      } else if (life.compareTo(java.time.Duration.ofHours(25)) <= 0
          ? left.compareTo(life.dividedBy(3)) < 0
          : left.compareTo(java.time.Duration.ofDays(1)) < 0) {
        warnings.add(e.getKey() + " expires in " + human(left));
      }
    }
    return new Line(
        "Certificates",
        ok,
        (warnings.isEmpty() ? "" : "WARNING: " + String.join(", ", warnings) + "; ")
            + "expire in: "
            + String.join(", ", parts));
  }

  private static String describe(java.security.cert.X509Certificate x) {
    return io.porin.tls.PeerIdentity.of(x).map(Object::toString).orElse("?");
  }

  private static String human(java.time.Duration d) {
    if (d.isNegative()) {
      return "expired";
    }
    if (d.toDays() >= 2) {
      return d.toDays() + "d";
    }
    if (d.toHours() == 0) {
      return d.toMinutes() + "m" + String.format("%02ds", d.toSecondsPart());
    }
    return d.toHours() + "h" + String.format("%02dm", d.toMinutesPart());
  }

  public static View collect(Cluster c) {
    List<Line> lines = new ArrayList<>();
    Contexts.Context ctx = c.context();
    // Every question at once; the answers are read in the order the view shows them.
    List<String> services = new ArrayList<>(List.of(ctx.identity(), ctx.ipam(), ctx.policy()));
    services.add(ctx.relay());
    services.addAll(ctx.agents().values());
    c.checkReadiness(services);
    var identitiesAsked =
        Cluster.async(
            () ->
                Cluster.call(
                    "identity service",
                    () ->
                        c.identity()
                            .list(io.porin.api.identity.v1.ListRequest.getDefaultInstance())));
    var ipamAsked =
        Cluster.async(
            () ->
                Cluster.call(
                    "IPAM service",
                    () -> c.ipam().list(io.porin.api.ipam.v1.ListRequest.getDefaultInstance())));
    var policiesAsked =
        Cluster.async(
            () ->
                Cluster.call(
                    "policy service",
                    () ->
                        c.policy().list(io.porin.api.policy.v1.ListRequest.getDefaultInstance())));
    var relayAsked =
        Cluster.async(
            () ->
                Cluster.call(
                    "relay",
                    () ->
                        c.relay()
                            .serverStatus(
                                io.porin.api.hubble.observer.ServerStatusRequest
                                    .getDefaultInstance())));
    var agentsAsked = Cluster.async(c::agentStatuses);
    var acksAsked =
        Cluster.async(
            () ->
                Cluster.call(
                    "policy service",
                    () -> c.policy().wait(WaitRequest.newBuilder().setTimeoutMillis(1).build())));
    // etcd, as the identity service sees it (its readiness check reads etcd).
    var idReady = c.readiness(ctx.identity());
    JsonNode etcdCheck = check(idReady.value(), "etcd");
    lines.add(
        new Line(
            "etcd",
            etcdCheck != null && "UP".equals(etcdCheck.path("status").asText()),
            etcdCheck == null
                ? "unknown (the identity service is " + idReady.error() + ")"
                : "revision "
                    + etcdCheck.path("data").path("revision").asText()
                    + " (seen by the identity service)"));
    var identities = identitiesAsked.join();
    lines.add(
        new Line(
            "Identity",
            idReady.ok() && identities.ok(),
            ctx.identity()
                + "  "
                + (identities.ok()
                    ? identities.value().getIdentitiesCount() + " identities"
                    : identities.error())));
    var ipamReady = c.readiness(ctx.ipam());
    var ipam = ipamAsked.join();
    lines.add(
        new Line(
            "IPAM",
            ipamReady.ok() && ipam.ok(),
            ctx.ipam()
                + "  "
                + (ipam.ok()
                    ? ipam.value().getNodesCount() + " nodes with pod CIDRs"
                    : ipam.error())));
    var policyReady = c.readiness(ctx.policy());
    var policies = policiesAsked.join();
    lines.add(
        new Line(
            "Policy",
            policyReady.ok() && policies.ok(),
            ctx.policy()
                + "  "
                + (policies.ok()
                    ? policies.value().getPoliciesCount()
                        + " policies ("
                        + policies.value().getPoliciesList().stream()
                            .filter(p -> !p.getState().equals("valid"))
                            .count()
                        + " refused), revision "
                        + policies.value().getRevision()
                    : policies.error())));
    // The relay: every node's flows.
    var relay = relayAsked.join();
    lines.add(
        new Line(
            "Relay",
            relay.ok() && relay.value().getNumUnavailableNodes().getValue() == 0,
            ctx.relay()
                + "  "
                + (relay.ok()
                    ? String.format(
                        "flows %d/%d (%.2f/s), %d nodes connected%s",
                        relay.value().getNumFlows(),
                        relay.value().getMaxFlows(),
                        relay.value().getFlowsRate(),
                        relay.value().getNumConnectedNodes().getValue(),
                        relay.value().getUnavailableNodesCount() == 0
                            ? ""
                            : ", unavailable: "
                                + String.join(", ", relay.value().getUnavailableNodesList()))
                    : relay.error())));
    // Each node's agent.
    Map<String, Cluster.Answer<AgentStatus>> agents = agentsAsked.join();
    long ready = agents.values().stream().filter(a -> a.ok() && a.value().getReady()).count();
    lines.add(
        new Line("Nodes", ready == agents.size(), ready + "/" + agents.size() + " agents ready"));
    int endpoints = 0;
    for (var e : agents.entrySet()) {
      AgentStatus s = e.getValue().value();
      if (s == null) {
        lines.add(new Line("  " + e.getKey(), false, e.getValue().error()));
        continue;
      }
      endpoints += s.getEndpoints();
      lines.add(
          new Line(
              "  " + s.getNode(),
              s.getReady() && s.getDatapathLoaded(),
              String.format(
                  "agent %s  datapath %s  endpoints %d  ipcache %d  policy revision %d%s",
                  ctx.agents().get(e.getKey()),
                  s.getDatapathLoaded() ? "loaded" : "NOT loaded",
                  s.getEndpoints(),
                  s.getIpcacheEntries(),
                  s.getPolicyRevision(),
                  s.getControlPlane().isEmpty() || s.getControlPlane().equals("ok")
                      ? ""
                      : "  (" + s.getControlPlane() + ")")));
    }
    Line encryption = encryption(agents);
    if (encryption != null) {
      lines.add(encryption);
    }
    c.readiness(ctx.relay());
    ctx.agents().values().forEach(c::readiness);
    lines.add(certificates(c));
    lines.add(new Line("Endpoints", true, endpoints + " on " + agents.size() + " nodes"));
    // Whether every node enforces the current policy revision.
    var acks = acksAsked.join();
    if (acks.ok()) {
      WaitResponse w = acks.value();
      long current =
          w.getNodesList().stream().filter(n -> n.getAcknowledged() >= w.getRevision()).count();
      List<String> behind =
          w.getNodesList().stream()
              .filter(n -> n.getAcknowledged() < w.getRevision())
              .map(n -> n.getNode() + " at " + n.getAcknowledged())
              .toList();
      lines.add(
          new Line(
              "Enforcement",
              w.getReached() && w.getNodesCount() >= agents.size(),
              "revision "
                  + w.getRevision()
                  + " enforced on "
                  + current
                  + "/"
                  + w.getNodesCount()
                  + " subscribed nodes"
                  + (behind.isEmpty() ? "" : "; behind: " + String.join(", ", behind))));
    } else {
      lines.add(new Line("Enforcement", false, acks.error()));
    }
    List<Map<String, Object>> perNode = new ArrayList<>();
    for (var a : agents.values()) {
      if (a.ok()) {
        EncryptionStatus e = a.value().getEncryption();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", a.value().getNode());
        m.put("encryption", EncryptionView.wireGuard(e) ? "wireguard" : "disabled");
        if (EncryptionView.wireGuard(e)) {
          m.put("mode", e.getMode());
          m.put("interface", e.getInterface());
          m.put("strict", e.getStrict());
          m.put("peers", e.getPeersCount());
          m.put("expectedPeers", Integer.toUnsignedLong(e.getExpectedPeers()));
        }
        perNode.add(m);
      }
    }
    return new View(lines, perNode);
  }

  /**
   * Transparent encryption on the nodes that answered: one summary when they all say the same
   * ({@code WireGuard [porin_wg0, peers 2/2]}, {@code Disabled}), else each node's; OK unless a
   * node lacks peers it should have. Null when no node answered.
   */
  static Line encryption(Map<String, Cluster.Answer<AgentStatus>> agents) {
    List<String> each = new ArrayList<>();
    Set<String> distinct = new LinkedHashSet<>();
    boolean ok = true;
    for (var a : agents.values()) {
      if (!a.ok()) {
        continue;
      }
      EncryptionStatus e = a.value().getEncryption();
      String summary = EncryptionView.summary(e);
      ok &= EncryptionView.complete(e);
      distinct.add(summary);
      each.add(a.value().getNode() + ": " + summary);
    }
    if (each.isEmpty()) {
      return null;
    }
    return new Line(
        "Encryption",
        ok,
        distinct.size() == 1 ? distinct.iterator().next() : String.join("; ", each));
  }

  private static JsonNode check(String healthJson, String name) {
    if (healthJson == null) {
      return null;
    }
    for (JsonNode c : GetCommand.readTree(healthJson).path("checks")) {
      if (name.equals(c.path("name").asText())) {
        return c;
      }
    }
    return null;
  }
}
