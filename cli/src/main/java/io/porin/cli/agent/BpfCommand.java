package io.porin.cli.agent;

import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.GetPolicyMapRequest;
import io.porin.api.agent.v1.PolicyMap;
import io.porin.api.agent.v1.PolicyMapEntry;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin bpf}: the kernel's maps as they are. */
@Command(
    name = "bpf",
    description = "The node's BPF maps, read back from the kernel and decoded.",
    subcommands = {BpfCommand.Policy.class, BpfCommand.Lb.class})
public class BpfCommand {

  @Command(
      name = "lb",
      description = "The node's load-balancing maps",
      subcommands = {LbList.class})
  static class Lb {}

  @Command(
      name = "list",
      description = {
        "Every service frontend and its backends, read back from the node's kernel maps (as",
        "cilium bpf lb list)."
      })
  static class LbList implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return ServiceCommand.list(spec, true);
    }
  }

  @Command(
      name = "policy",
      description = "Endpoint policy maps.",
      subcommands = {Get.class})
  static class Policy {}

  /** {@code ANY}, {@code 80} or {@code 8000-8007}: the block the port prefix covers. */
  static String ports(PolicyMapEntry e) {
    if (e.getPrefixLength() <= 8) {
      return "ANY";
    }
    int last = e.getPort() + (1 << (24 - e.getPrefixLength())) - 1;
    return last == e.getPort() ? Integer.toString(e.getPort()) : e.getPort() + "-" + last;
  }

  static class Target {
    @Parameters(paramLabel = "ENDPOINT", description = "An endpoint ID (porin endpoint list)")
    Integer id;

    @Option(names = "--pod", paramLabel = "NS/NAME", description = "A pod on this node")
    String pod;
  }

  @Command(
      name = "get",
      description = {
        "One endpoint's policy map as the kernel holds it (as cilium bpf policy get):",
        "DIRECTION, PEER, PROTO, PORT/PREFIX, VERDICT and the rules its cookie names."
      })
  static class Get implements Callable<Integer> {
    @Spec CommandSpec spec;

    @ArgGroup(multiplicity = "1")
    Target target;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      GetPolicyMapRequest.Builder req = GetPolicyMapRequest.newBuilder();
      if (target.id != null) {
        if (target.id <= 0) {
          spec.commandLine()
              .getErr()
              .println("porin: ENDPOINT: " + target.id + " is not an endpoint ID");
          return Main.BAD_INPUT;
        }
        req.setId(target.id);
      } else {
        if (!target.pod.matches("[^/\\s]+/[^/\\s]+")) {
          spec.commandLine()
              .getErr()
              .println("porin: --pod: \"" + target.pod + "\" is not NS/NAME");
          return Main.BAD_INPUT;
        }
        req.setPod(target.pod);
      }
      GlobalOptions opts = GlobalOptions.of(spec);
      String address = opts.agentAddress();
      if (target.pod != null && !opts.nodeGiven() && opts.context().context().nodes() != null) {
        // A pod of a multi-node context: ask the agent of the node it runs on.
        try (var c = new io.porin.cli.cluster.Cluster(opts.context().context())) {
          for (var e : c.endpoints(new ArrayList<>())) {
            if ((e.endpoint().getNamespace() + "/" + e.endpoint().getPod()).equals(target.pod)) {
              address = opts.context().context().agents().get(e.node());
            }
          }
        }
      }
      return ServiceCall.run(
          ServiceCall.Service.AGENT,
          address,
          opts.context(),
          spec.commandLine().getErr(),
          channel -> {
            var stub =
                AgentGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS);
            PolicyMap m = stub.getPolicyMap(req.build());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              Map<String, Object> j = new LinkedHashMap<>();
              j.put("endpoint", m.getEndpoint());
              j.put("identity", Integer.toUnsignedLong(m.getIdentity()));
              j.put("ingressEnforced", m.getIngressEnforced());
              j.put("egressEnforced", m.getEgressEnforced());
              j.put("ingressDefault", m.getIngressDefault());
              j.put("egressDefault", m.getEgressDefault());
              j.put("ingressDefaultRules", m.getIngressDefaultRules());
              j.put("egressDefaultRules", m.getEgressDefaultRules());
              j.put("revision", m.getPolicyRevision());
              j.put("capacity", m.getCapacity());
              List<Map<String, Object>> entries = new ArrayList<>();
              for (PolicyMapEntry e : m.getEntriesList()) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("direction", e.getDirection());
                x.put("peer", Integer.toUnsignedLong(e.getPeer()));
                x.put("protocol", e.getProtocol());
                x.put("port", e.getPort());
                x.put("prefixLength", e.getPrefixLength());
                x.put("verdict", e.getVerdict());
                x.put("cookie", e.getCookie());
                x.put("rules", e.getRules());
                entries.add(x);
              }
              j.put("entries", entries);
              Output.json(out, j);
              return 0;
            }
            out.printf(
                "endpoint %d, identity %s, map revision %d, %d of %d entries%n",
                m.getEndpoint(),
                Integer.toUnsignedString(m.getIdentity()),
                m.getPolicyRevision(),
                m.getEntriesCount(),
                m.getCapacity());
            out.printf(
                "ingress: %s, default %s%s%n",
                m.getIngressEnforced() ? "enforced" : "not enforced",
                m.getIngressDefault(),
                m.getIngressDefaultRules().isEmpty()
                    ? ""
                    : " (" + m.getIngressDefaultRules() + ")");
            out.printf(
                "egress: %s, default %s%s%n",
                m.getEgressEnforced() ? "enforced" : "not enforced",
                m.getEgressDefault(),
                m.getEgressDefaultRules().isEmpty() ? "" : " (" + m.getEgressDefaultRules() + ")");
            Table t =
                new Table("DIRECTION", "PEER", "PROTO", "PORTS", "VERDICT", "COOKIE", "RULES");
            for (PolicyMapEntry e : m.getEntriesList()) {
              t.row(
                  e.getDirection(),
                  e.getPeer() == 0 ? "ANY" : Integer.toUnsignedString(e.getPeer()),
                  e.getProtocol() == 0 ? "ANY" : Integer.toString(e.getProtocol()),
                  ports(e),
                  e.getVerdict(),
                  Integer.toString(e.getCookie()),
                  e.getRules());
            }
            t.print(out);
            out.flush();
            return 0;
          });
    }
  }
}
