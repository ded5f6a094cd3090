package io.porin.cli.policy;

import io.porin.api.policy.v1.CidrClass;
import io.porin.api.policy.v1.Decision;
import io.porin.api.policy.v1.DirectionPolicy;
import io.porin.api.policy.v1.GetRequest;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.ListRequest;
import io.porin.api.policy.v1.ListResponse;
import io.porin.api.policy.v1.NodeAck;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.api.policy.v1.PolicyEntry;
import io.porin.api.policy.v1.PolicyRef;
import io.porin.api.policy.v1.PolicyStatus;
import io.porin.api.policy.v1.RuleRef;
import io.porin.api.policy.v1.TraceEndpoint;
import io.porin.api.policy.v1.TraceRequest;
import io.porin.api.policy.v1.TraceResponse;
import io.porin.api.policy.v1.WaitRequest;
import io.porin.api.policy.v1.WaitResponse;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin policy}: what the policies are, what they compile to, and why a flow passes. */
@Command(
    name = "policy",
    description = "Policies, each identity's compiled policy, traces and enforcement.",
    subcommands = {
      PolicyCommand.ListPolicies.class,
      PolicyCommand.GetPolicy.class,
      PolicyCommand.TracePolicy.class,
      PolicyCommand.WaitPolicy.class
    })
public class PolicyCommand {
  /** The high byte of ipBlock class ids (see core CidrClass). */
  private static final int CLASS_SCOPE = 0x7F000000;

  @Command(name = "list", description = "Every policy, valid or refused (with the reason).")
  static class ListPolicies implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.POLICY,
          PoliciesGrpc::newBlockingStub,
          stub -> {
            ListResponse l = stub.list(ListRequest.getDefaultInstance());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              List<Map<String, Object>> ps = new ArrayList<>();
              for (PolicyStatus p : l.getPoliciesList()) {
                Map<String, Object> m = ref(p.getPolicy());
                m.put("state", p.getState());
                m.put("rules", p.getRules());
                m.put("selectedIdentities", p.getSelectedIdentities());
                m.put("error", p.getError());
                ps.add(m);
              }
              Output.json(
                  out,
                  Map.of("revision", l.getRevision(), "synced", l.getSynced(), "policies", ps));
              return 0;
            }
            Table t = new Table("NAMESPACE", "NAME", "KIND", "STATE", "RULES", "SELECTS", "ERROR");
            for (PolicyStatus p : l.getPoliciesList()) {
              t.row(
                  p.getPolicy().getNamespace(),
                  p.getPolicy().getName(),
                  p.getPolicy().getKind(),
                  p.getState(),
                  Integer.toString(p.getRules()),
                  Integer.toString(p.getSelectedIdentities()),
                  p.getError());
            }
            t.print(out);
            out.printf(
                "revision %d%s%n", l.getRevision(), l.getSynced() ? "" : " (still reading state)");
            out.flush();
            return 0;
          });
    }
  }

  static class Endpoint {
    @Option(names = "--identity", paramLabel = "N", description = "A numeric identity")
    Long identity;

    @Option(names = "--pod", paramLabel = "NS/NAME", description = "A pod")
    String pod;
  }

  @Command(
      name = "get",
      description = {
        "An identity's compiled policy, entry by entry (as cilium bpf policy get):",
        "DIRECTION, PEER, PROTO, PORTS, VERDICT and the RULE that produced it."
      })
  static class GetPolicy implements Callable<Integer> {
    @Spec CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Endpoint endpoint;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      GetRequest.Builder req = GetRequest.newBuilder();
      if (endpoint.identity != null) {
        if (endpoint.identity < 0 || endpoint.identity > 0xFFFFFFFFL) {
          spec.commandLine()
              .getErr()
              .println("porin: --identity: " + endpoint.identity + " is not an identity");
          return Main.BAD_INPUT;
        }
        req.setIdentity((int) (long) endpoint.identity);
      } else {
        req.setPod(endpoint.pod);
      }
      return ServiceCall.run(
          spec,
          ServiceCall.Service.POLICY,
          PoliciesGrpc::newBlockingStub,
          stub -> {
            IdentityPolicy p = stub.get(req.build());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("identity", Integer.toUnsignedLong(p.getIdentity()));
              m.put("labels", p.getLabelsList());
              m.put("revision", p.getRevision());
              m.put("ingress", json(p.getIngress(), p));
              m.put("egress", json(p.getEgress(), p));
              Output.json(out, m);
              return 0;
            }
            out.printf(
                "identity %s (%s), revision %d%n",
                Integer.toUnsignedString(p.getIdentity()),
                shortLabels(String.join(",", p.getLabelsList())),
                p.getRevision());
            for (DirectionPolicy d : List.of(p.getIngress(), p.getEgress())) {
              out.println(direction(d) + ": " + summary(d));
            }
            Table t = new Table("DIRECTION", "PEER", "PROTO", "PORTS", "VERDICT", "RULE");
            for (DirectionPolicy d : List.of(p.getIngress(), p.getEgress())) {
              for (PolicyEntry e : d.getEntriesList()) {
                t.row(
                    List.of(
                        List.of(direction(d)),
                        List.of(peer(e.getPeer(), d, p)),
                        List.of(protocol(e.getProtocol())),
                        List.of(ports(e)),
                        List.of(e.getVerdict().name().toLowerCase(Locale.ROOT)),
                        e.getRulesList().stream().map(PolicyCommand::rule).toList()));
              }
            }
            t.print(out);
            out.flush();
            return 0;
          });
    }
  }

  static class From {
    @Option(
        names = "--from-pod",
        paramLabel = "NS/NAME",
        description = "A pod; CLUSTER/NS/NAME: a pod of a connected cluster")
    String pod;

    @Option(names = "--from-identity", paramLabel = "N")
    Long identity;

    @Option(names = "--from-ip", paramLabel = "IP")
    String ip;
  }

  static class To {
    @Option(
        names = "--to-pod",
        paramLabel = "NS/NAME",
        description = "A pod; CLUSTER/NS/NAME: a pod of a connected cluster")
    String pod;

    @Option(names = "--to-identity", paramLabel = "N")
    Long identity;

    @Option(names = "--to-ip", paramLabel = "IP")
    String ip;
  }

  @Command(
      name = "trace",
      description = {
        "The verdict for a flow: the sender's egress policy, the receiver's ingress policy,",
        "and the rules (or the default deny and the policies that enabled it) that decide."
      })
  static class TracePolicy implements Callable<Integer> {
    @Spec CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    From from;

    @ArgGroup(multiplicity = "1")
    To to;

    @Option(names = "--port", required = true, description = "Destination port (ICMP: type)")
    int port;

    @Option(
        names = "--protocol",
        defaultValue = "tcp",
        description = "tcp, udp, sctp, icmp, icmpv6")
    String protocol;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      TraceRequest req =
          TraceRequest.newBuilder()
              .setFrom(endpoint(from.pod, from.identity, from.ip))
              .setTo(endpoint(to.pod, to.identity, to.ip))
              .setPort(port)
              .setProtocol(protocol)
              .build();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.POLICY,
          PoliciesGrpc::newBlockingStub,
          stub -> {
            TraceResponse r = stub.trace(req);
            String fromText = describe(from.pod, from.identity, from.ip, r.getFromIdentity());
            String toText = describe(to.pod, to.identity, to.ip, r.getToIdentity());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("from", fromText);
              m.put("to", toText);
              m.put("fromIdentity", Integer.toUnsignedLong(r.getFromIdentity()));
              m.put("toIdentity", Integer.toUnsignedLong(r.getToIdentity()));
              m.put("protocol", protocol.toLowerCase(Locale.ROOT));
              m.put("port", port);
              m.put("egress", json(r.getEgress()));
              m.put("ingress", json(r.getIngress()));
              m.put("verdict", r.getVerdict().name());
              m.put("revision", r.getRevision());
              m.put("notes", r.getNotesList());
              Output.json(out, m);
              return 0;
            }
            out.printf(
                "%s -> %s  %s/%d  (policy revision %d)%n",
                fromText, toText, protocol.toLowerCase(Locale.ROOT), port, r.getRevision());
            out.printf("  egress of %s:  %s%n", fromText, line(r.getEgress()));
            out.printf("  ingress of %s: %s%n", toText, line(r.getIngress()));
            out.println("verdict: " + r.getVerdict().name());
            for (String n : r.getNotesList()) {
              out.println("note: " + n);
            }
            out.flush();
            return 0;
          });
    }
  }

  @Command(
      name = "wait",
      description = {
        "Wait until every subscribed node has acknowledged the current policy revision",
        "(or --revision). Exit 1 when the timeout passes first."
      })
  static class WaitPolicy implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--revision", description = "The revision to wait for (default: the current)")
    long revision;

    @Option(
        names = "--timeout",
        defaultValue = "30s",
        description = "How long to wait, e.g. 30s, 2m")
    String timeout;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Duration d;
      try {
        d = io.porin.cli.Durations.parse("--timeout", timeout);
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("porin: " + e.getMessage());
        return Main.BAD_INPUT;
      }
      return ServiceCall.run(
          spec,
          ServiceCall.Service.POLICY,
          PoliciesGrpc::newBlockingStub,
          d.plusSeconds(10),
          stub -> {
            WaitResponse r =
                stub.wait(
                    WaitRequest.newBuilder()
                        .setRevision(revision)
                        .setTimeoutMillis(d.toMillis())
                        .build());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              List<Map<String, Object>> nodes = new ArrayList<>();
              for (NodeAck n : r.getNodesList()) {
                nodes.add(
                    Map.of(
                        "node", n.getNode(),
                        "acknowledged", n.getAcknowledged(),
                        "identities", n.getIdentities()));
              }
              Output.json(
                  out,
                  Map.of("reached", r.getReached(), "revision", r.getRevision(), "nodes", nodes));
            } else {
              Table t = new Table("NODE", "ACKNOWLEDGED", "IDENTITIES", "STATE");
              for (NodeAck n : r.getNodesList()) {
                t.row(
                    n.getNode(),
                    Long.toString(n.getAcknowledged()),
                    Integer.toString(n.getIdentities()),
                    n.getAcknowledged() >= r.getRevision() ? "enforced" : "behind");
              }
              if (r.getNodesCount() > 0) {
                t.print(out);
              }
              out.println(
                  r.getReached()
                      ? "revision "
                          + r.getRevision()
                          + " is enforced on "
                          + (r.getNodesCount() == 0
                              ? "every node (no node is subscribed)"
                              : "all " + r.getNodesCount() + " nodes")
                      : "timed out after "
                          + timeout
                          + ": not every node has revision "
                          + r.getRevision());
              out.flush();
            }
            return r.getReached() ? 0 : ServiceCall.FAILED;
          });
    }
  }

  // ---- formatting -----------------------------------------------------------------------------

  static TraceEndpoint endpoint(String pod, Long identity, String ip) {
    TraceEndpoint.Builder b = TraceEndpoint.newBuilder();
    if (pod != null) {
      b.setPod(pod);
    } else if (identity != null) {
      b.setIdentity((int) (long) identity);
    } else {
      b.setIp(ip);
    }
    return b.build();
  }

  static String describe(String pod, Long identity, String ip, int resolved) {
    if (pod != null) {
      return pod + " (identity " + Integer.toUnsignedString(resolved) + ")";
    }
    if (identity != null) {
      return "identity " + identity;
    }
    return ip + " (identity " + Integer.toUnsignedString(resolved) + ")";
  }

  static String line(Decision d) {
    if (!d.getApplies()) {
      return d.getExplanation();
    }
    return d.getVerdict().name() + "  " + d.getExplanation();
  }

  static Map<String, Object> json(Decision d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("applies", d.getApplies());
    m.put("verdict", d.getVerdict().name());
    m.put("byDefault", d.getByDefault());
    m.put("enforced", d.getEnforced());
    m.put("rules", d.getRulesList().stream().map(PolicyCommand::rule).toList());
    m.put("defaultDenyBy", d.getDefaultDenyByList().stream().map(r -> ref(r)).toList());
    m.put("explanation", d.getExplanation());
    return m;
  }

  static Map<String, Object> json(DirectionPolicy d, IdentityPolicy p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("enforced", d.getEnforced());
    m.put("defaultVerdict", d.getDefaultVerdict().name());
    m.put("defaultDenyBy", d.getDefaultDenyByList().stream().map(r -> ref(r)).toList());
    List<Map<String, Object>> entries = new ArrayList<>();
    for (PolicyEntry e : d.getEntriesList()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("peer", Integer.toUnsignedLong(e.getPeer()));
      x.put("peerName", peer(e.getPeer(), d, p));
      x.put("protocol", protocol(e.getProtocol()));
      x.put("ports", ports(e));
      x.put("prefixLength", e.getPrefixLength());
      x.put("verdict", e.getVerdict().name());
      x.put("rules", e.getRulesList().stream().map(PolicyCommand::rule).toList());
      entries.add(x);
    }
    m.put("entries", entries);
    List<Map<String, Object>> classes = new ArrayList<>();
    for (CidrClass c : d.getCidrClassesList()) {
      classes.add(
          Map.of("prefix", c.getPrefix(), "classId", Integer.toUnsignedLong(c.getClassId())));
    }
    m.put("cidrClasses", classes);
    return m;
  }

  static Map<String, Object> ref(PolicyRef r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", r.getKind());
    m.put("namespace", r.getNamespace());
    m.put("name", r.getName());
    return m;
  }

  static String rule(RuleRef r) {
    String ns = r.getPolicy().getNamespace();
    return (ns.isEmpty() ? "" : ns + "/")
        + r.getPolicy().getName()
        + " "
        + r.getSection()
        + "["
        + r.getIndex()
        + "]";
  }

  static String direction(DirectionPolicy d) {
    return d.getDirection().name().toLowerCase(Locale.ROOT);
  }

  static String summary(DirectionPolicy d) {
    if (!d.getEnforced()) {
      return "not enforced (no policy with this section selects it): allowed unless denied";
    }
    String by =
        d.getDefaultDenyByCount() == 0
            ? "enforcement mode always"
            : String.join(
                ", ",
                d.getDefaultDenyByList().stream()
                    .map(
                        r ->
                            (r.getNamespace().isEmpty() ? "" : r.getNamespace() + "/")
                                + r.getName())
                    .toList());
    return (d.getDefaultVerdict() == io.porin.api.policy.v1.Verdict.AUDIT ? "audited " : "")
        + "default deny, enabled by "
        + by;
  }

  static String peer(int peer, DirectionPolicy d, IdentityPolicy p) {
    if (peer == 0) {
      return "any";
    }
    if ((peer & 0xFF000000) == CLASS_SCOPE) {
      for (CidrClass c : d.getCidrClassesList()) {
        if (c.getClassId() == peer) {
          return "addresses " + c.getPrefix();
        }
      }
    }
    String labels = p.getPeerLabelsOrDefault(peer, "");
    String id = Integer.toUnsignedString(peer);
    return labels.isEmpty() ? id : id + " (" + shortLabels(labels) + ")";
  }

  /** Labels without the namespace-label copies, which every pod of a namespace shares. */
  static String shortLabels(String labels) {
    List<String> keep = new ArrayList<>();
    for (String l : labels.split(",")) {
      if (!l.contains("io.cilium.k8s.namespace.labels.") && !l.isEmpty()) {
        keep.add(l.replace("k8s:io.kubernetes.pod.namespace=", "ns="));
      }
    }
    return String.join(",", keep);
  }

  static String protocol(int n) {
    return switch (n) {
      case 0 -> "any";
      case 1 -> "icmp";
      case 6 -> "tcp";
      case 17 -> "udp";
      case 58 -> "icmpv6";
      case 132 -> "sctp";
      default -> Integer.toString(n);
    };
  }

  static String ports(PolicyEntry e) {
    if (e.getPrefixLength() <= 8) {
      return "*";
    }
    int last = e.getPort() + (1 << (24 - e.getPrefixLength())) - 1;
    return last == e.getPort() ? Integer.toString(e.getPort()) : e.getPort() + "-" + last;
  }
}
