package io.porin.cli.ipam;

import io.porin.api.ipam.v1.AllocateNodeRequest;
import io.porin.api.ipam.v1.IpamGrpc;
import io.porin.api.ipam.v1.ListRequest;
import io.porin.api.ipam.v1.ListResponse;
import io.porin.api.ipam.v1.NodeCidrs;
import io.porin.api.ipam.v1.PoolUsage;
import io.porin.api.ipam.v1.ReleaseNodeRequest;
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
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin ipam}: the nodes' pod CIDRs (cluster-pool IPAM). */
@Command(
    name = "ipam",
    description = "Node pod CIDRs from the cluster pools.",
    subcommands = {
      IpamCommand.ListNodes.class,
      IpamCommand.AllocateNode.class,
      IpamCommand.ReleaseNode.class
    })
public class IpamCommand {

  @Command(name = "list", description = "List every node's pod CIDRs and the pools' usage.")
  static class ListNodes implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IPAM,
          IpamGrpc::newBlockingStub,
          stub -> {
            ListResponse l = stub.list(ListRequest.getDefaultInstance());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              Map<String, Object> json = new LinkedHashMap<>();
              json.put("nodes", l.getNodesList().stream().map(IpamCommand::json).toList());
              List<Map<String, Object>> pools = new ArrayList<>();
              for (PoolUsage p : l.getPoolsList()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("family", p.getFamily());
                m.put("cidrs", p.getCidrsList());
                m.put("maskSize", p.getMaskSize());
                m.put("blocksTotal", p.getBlocksTotal());
                m.put("blocksUsed", p.getBlocksUsed());
                pools.add(m);
              }
              json.put("pools", pools);
              Output.json(out, json);
            } else {
              Table t = new Table("NODE", "IPV4 CIDRS", "IPV6 CIDRS");
              for (NodeCidrs n : l.getNodesList()) {
                t.row(List.of(List.of(n.getNode()), n.getIpv4CidrsList(), n.getIpv6CidrsList()));
              }
              t.print(out);
              for (PoolUsage p : l.getPoolsList()) {
                out.printf(
                    "%s pool %s in /%d blocks: %d of %d used%n",
                    p.getFamily(),
                    String.join(", ", p.getCidrsList()),
                    p.getMaskSize(),
                    p.getBlocksUsed(),
                    p.getBlocksTotal());
              }
              out.flush();
            }
            return 0;
          });
    }
  }

  @Command(
      name = "allocate",
      description = {
        "Allocate (or show) a node's pod CIDRs.",
        "Node agents do this at start; for standalone nodes and testing."
      })
  static class AllocateNode implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE")
    String node;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IPAM,
          IpamGrpc::newBlockingStub,
          stub -> {
            NodeCidrs n = stub.allocateNode(AllocateNodeRequest.newBuilder().setNode(node).build());
            List<String> all = new ArrayList<>(n.getIpv4CidrsList());
            all.addAll(n.getIpv6CidrsList());
            Output.print(
                out,
                GlobalOptions.of(spec).output(),
                () -> json(n),
                () -> n.getNode() + "  " + String.join("  ", all));
            return 0;
          });
    }
  }

  @Command(name = "release", description = "Return a node's pod CIDRs to the pools.")
  static class ReleaseNode implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE")
    String node;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IPAM,
          IpamGrpc::newBlockingStub,
          stub -> {
            boolean released =
                stub.releaseNode(ReleaseNodeRequest.newBuilder().setNode(node).build())
                    .getReleased();
            Output.print(
                out,
                GlobalOptions.of(spec).output(),
                () -> Map.of("node", node, "released", released),
                () -> released ? "released " + node : node + " held no CIDRs");
            return 0;
          });
    }
  }

  static Map<String, Object> json(NodeCidrs n) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("node", n.getNode());
    m.put("ipv4Cidrs", n.getIpv4CidrsList());
    m.put("ipv6Cidrs", n.getIpv6CidrsList());
    return m;
  }
}
