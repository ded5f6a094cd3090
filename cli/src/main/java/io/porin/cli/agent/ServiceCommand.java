package io.porin.cli.agent;

import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.ListServicesRequest;
import io.porin.api.agent.v1.ListServicesResponse;
import io.porin.api.agent.v1.ServiceBackend;
import io.porin.api.agent.v1.ServiceFrontend;
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
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code porin service list}: a node's service frontends and backends, as cilium service list. */
@Command(
    name = "service",
    description = "Services as a node load-balances them (socket and tc translation)",
    subcommands = {ServiceCommand.ListServices.class})
public class ServiceCommand {

  @Command(
      name = "list",
      description = {
        "Every frontend (cluster IP or node port) of a node and its backends with their state",
        "(as cilium service list); --node picks the node."
      })
  static class ListServices implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      return list(spec, false);
    }
  }

  /** Lists the agent's frontends: as programmed, or (kernel) read back from the maps. */
  static int list(CommandSpec spec, boolean kernel) {
    GlobalOptions opts = GlobalOptions.of(spec);
    return ServiceCall.run(
        ServiceCall.Service.AGENT,
        opts.agentAddress(),
        opts.context(),
        spec.commandLine().getErr(),
        channel -> {
          ListServicesResponse r =
              AgentGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(30, TimeUnit.SECONDS)
                  .listServices(ListServicesRequest.newBuilder().setKernel(kernel).build());
          print(spec, r, kernel);
          return 0;
        });
  }

  private static void print(CommandSpec spec, ListServicesResponse r, boolean kernel) {
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      List<Map<String, Object>> fs = new ArrayList<>();
      for (ServiceFrontend f : r.getFrontendsList()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.getId());
        m.put("frontend", f.getFrontend());
        m.put("type", f.getType());
        m.put("service", f.getService());
        m.put("algorithm", f.getAlgorithm());
        m.put("affinityTimeout", f.getAffinityTimeout());
        List<Map<String, Object>> bs = new ArrayList<>();
        for (ServiceBackend b : f.getBackendsList()) {
          bs.add(Map.of("id", b.getId(), "address", b.getAddress(), "state", b.getState()));
        }
        m.put("backends", bs);
        fs.add(m);
      }
      Output.json(out, Map.of("node", r.getNode(), "kernel", kernel, "frontends", fs));
      return;
    }
    Table t = new Table("ID", "FRONTEND", "SERVICE TYPE", "SERVICE", "BACKEND");
    for (ServiceFrontend f : r.getFrontendsList()) {
      List<ServiceBackend> bs = f.getBackendsList();
      String type =
          f.getType()
              + (f.getAlgorithm().equals("maglev") ? " maglev" : "")
              + (f.getAffinityTimeout() > 0 ? " affinity " + f.getAffinityTimeout() + "s" : "");
      if (bs.isEmpty()) {
        t.row(Integer.toString(f.getId()), f.getFrontend(), type, f.getService(), "(no backends)");
      }
      for (int i = 0; i < bs.size(); i++) {
        ServiceBackend b = bs.get(i);
        String backend = (i + 1) + " => " + b.getAddress() + " (" + b.getState() + ")";
        if (i == 0) {
          t.row(Integer.toString(f.getId()), f.getFrontend(), type, f.getService(), backend);
        } else {
          t.row("", "", "", "", backend);
        }
      }
    }
    t.print(out);
    out.flush();
  }
}
