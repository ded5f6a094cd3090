package io.porin.cli.agent;

import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.Endpoint;
import io.porin.api.agent.v1.ListEndpointsRequest;
import io.porin.api.agent.v1.ListEndpointsResponse;
import io.porin.cli.GlobalOptions;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code porin endpoint}: the endpoints of a node, as its agent has them. */
@Command(
    name = "endpoint",
    description = "Endpoints of the node agent of the context (as cilium endpoint list).",
    subcommands = {EndpointCommand.ListEndpoints.class})
public class EndpointCommand {

  @Command(
      name = "list",
      description = {
        "ENDPOINT, IDENTITY, LABELS, IPv4, IPv6, STATUS and whether INGRESS and EGRESS policy",
        "is enforced."
      })
  static class ListEndpoints implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.AGENT,
          AgentGrpc::newBlockingStub,
          stub -> {
            ListEndpointsResponse r = stub.listEndpoints(ListEndpointsRequest.getDefaultInstance());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              List<Map<String, Object>> json = new ArrayList<>();
              for (Endpoint e : r.getEndpointsList()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", e.getId());
                m.put("identity", Integer.toUnsignedLong(e.getIdentity()));
                m.put("labels", e.getLabelsList());
                m.put("ipv4", e.getIpv4());
                m.put("ipv6", e.getIpv6());
                m.put("status", e.getState());
                m.put("statusDetail", e.getStateDetail());
                m.put("ingressEnforced", e.getIngressEnforced());
                m.put("egressEnforced", e.getEgressEnforced());
                m.put("pod", e.getPod().isEmpty() ? "" : e.getNamespace() + "/" + e.getPod());
                m.put("containerId", e.getContainerId());
                m.put("interface", e.getInterface());
                m.put("ifindex", e.getIfindex());
                m.put("netns", e.getNetns());
                m.put("policyRevision", e.getPolicyRevision());
                m.put("policyEntries", e.getPolicyEntries());
                m.put("node", r.getNode());
                json.add(m);
              }
              Output.json(out, json);
              return 0;
            }
            Table t =
                new Table(
                    "ENDPOINT",
                    "POLICY (ingress)",
                    "POLICY (egress)",
                    "IDENTITY",
                    "LABELS",
                    "IPv4",
                    "IPv6",
                    "STATUS");
            for (Endpoint e : r.getEndpointsList()) {
              t.row(
                  List.of(
                      List.of(Integer.toString(e.getId())),
                      List.of(e.getIngressEnforced() ? "Enabled" : "Disabled"),
                      List.of(e.getEgressEnforced() ? "Enabled" : "Disabled"),
                      List.of(Integer.toUnsignedString(e.getIdentity())),
                      e.getLabelsList().stream()
                          .filter(l -> !l.contains("namespace.labels"))
                          .toList(),
                      List.of(e.getIpv4()),
                      List.of(e.getIpv6()),
                      List.of(
                          e.getState()
                              + (e.getStateDetail().isEmpty()
                                  ? ""
                                  : " (" + e.getStateDetail() + ")"))));
            }
            t.print(out);
            out.flush();
            return 0;
          });
    }
  }
}
