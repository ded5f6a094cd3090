package io.porin.cli.mesh;

import io.porin.api.mesh.v1.ClusterMeshGrpc;
import io.porin.api.mesh.v1.MeshStatus;
import io.porin.api.mesh.v1.PeerStatus;
import io.porin.api.mesh.v1.StatusRequest;
import io.porin.cli.GlobalOptions;
import io.porin.cli.ServiceCall;
import io.porin.cli.context.Contexts;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.lab.Installation;
import io.porin.lab.Lab;
import io.porin.lab.LabException;
import io.porin.lab.LabMesh;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin clustermesh}: clusters joined into one mesh, as cilium clustermesh. */
@Command(
    name = "clustermesh",
    description = {
      "Clusters joined into one mesh (as cilium clustermesh): pods, identities, policies and",
      "global services across them. enable, connect and disconnect manage labs (this machine's",
      "clusters); status asks the context's clustermesh service."
    },
    subcommands = {
      ClusterMeshCommand.Enable.class,
      ClusterMeshCommand.Connect.class,
      ClusterMeshCommand.Disconnect.class,
      ClusterMeshCommand.Status.class
    })
public class ClusterMeshCommand {

  /** The lab a context stands for (these commands manage labs). */
  static String labOf(Contexts.Named ctx, String option) {
    String lab = ctx.context().lab();
    if (lab == null) {
      throw new LabException(
          option
              + ": context \""
              + ctx.name()
              + "\" is not a lab; on this machine clusters are labs (a real cluster's clustermesh"
              + " is configured through its manifests)");
    }
    return lab;
  }

  /** The two clusters of connect and disconnect: --context's and --destination-context's. */
  static class Pair {
    @Option(
        names = "--destination-context",
        required = true,
        description = "The other cluster's context")
    String destination;

    /** Their labs: this context's, then the destination's. */
    List<String> labs(CommandSpec spec) {
      Contexts.Named b =
          Contexts.load(Contexts.defaultPath()).resolve(java.util.Optional.of(destination));
      return List.of(
          labOf(GlobalOptions.of(spec).context(), "--context"), labOf(b, "--destination-context"));
    }
  }

  static LabMesh mesh(CommandSpec spec) {
    return new LabMesh(
        new Lab(
            io.porin.cli.Env.labDirectory(),
            Installation.find(),
            io.porin.cli.lab.LabCommand.progress(spec)));
  }

  static void done(CommandSpec spec, Map<String, Object> json, String text) {
    PrintWriter out = spec.commandLine().getOut();
    if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
      Output.json(out, json);
    } else {
      out.println(text);
    }
    out.flush();
  }

  @Command(
      name = "enable",
      description = "Run the context's clustermesh service (port 9406, mutual TLS only).")
  static class Enable implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      String lab = labOf(GlobalOptions.of(spec).context(), "--context");
      mesh(spec).enable(lab);
      done(spec, Map.of("cluster", lab, "clustermesh", "enabled"), "clustermesh enabled in " + lab);
      return 0;
    }
  }

  @Command(
      name = "connect",
      description = {
        "Connect two clusters in both directions (as cilium clustermesh connect): each trusts the",
        "other's CA for its clustermesh service and imports the other's identities, endpoints,",
        "nodes and global services. Returns when each has imported the other. Enables",
        "clustermesh where it is not yet. The labs' networks must be linked (porin lab link)."
      })
  static class Connect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Mixin Pair pair;

    @Option(
        names = "--timeout",
        description = "How long to wait for both imports, in seconds (default: 60)")
    int timeout = 60;

    @Override
    public Integer call() {
      List<String> labs = pair.labs(spec);
      String la = labs.get(0);
      String lb = labs.get(1);
      long t0 = System.nanoTime();
      mesh(spec).connect(la, lb, timeout);
      double seconds = (System.nanoTime() - t0) / 1e9;
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("clusters", List.of(la, lb));
      json.put("connected", true);
      json.put("seconds", Math.round(seconds * 10) / 10.0);
      done(spec, json, "clusters " + la + " and " + lb + " are connected");
      return 0;
    }
  }

  @Command(
      name = "disconnect",
      description = {
        "Disconnect two clusters: each stops importing the other and removes what it imported",
        "(its identities, endpoints, routes and global service backends)."
      })
  static class Disconnect implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Mixin Pair pair;

    @Override
    public Integer call() {
      List<String> labs = pair.labs(spec);
      String la = labs.get(0);
      String lb = labs.get(1);
      mesh(spec).disconnect(la, lb);
      done(
          spec,
          Map.of("clusters", List.of(la, lb), "connected", false),
          "clusters " + la + " and " + lb + " are disconnected");
      return 0;
    }
  }

  @Command(
      name = "status",
      description = {
        "This cluster and its peers as its clustermesh service sees them: each peer's state",
        "(synced, or why not), revision and what was imported from it. --wait waits until every",
        "peer is synced. Exit 1 when a peer is not synced (or the service cannot be asked)."
      })
  static class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--wait", description = "Wait until every peer is synced")
    boolean await;

    @Option(names = "--wait-duration", description = "How long --wait waits, e.g. 2m (default: 2m)")
    String waitDuration = "2m";

    @Override
    public Integer call() {
      Duration limit = io.porin.cli.Durations.parse("--wait-duration", waitDuration);
      long deadline = System.nanoTime() + limit.toNanos();
      MeshStatus[] last = new MeshStatus[1];
      while (true) {
        int rc =
            ServiceCall.run(
                spec,
                ServiceCall.Service.CLUSTERMESH,
                ClusterMeshGrpc::newBlockingStub,
                stub -> {
                  last[0] = stub.status(StatusRequest.getDefaultInstance());
                  return 0;
                });
        if (rc != 0) {
          return rc;
        }
        boolean synced = last[0].getPeersList().stream().allMatch(PeerStatus::getSynced);
        if (synced || !await || System.nanoTime() > deadline) {
          print(last[0]);
          return synced ? 0 : 1;
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return 130;
        }
      }
    }

    private void print(MeshStatus s) {
      PrintWriter out = spec.commandLine().getOut();
      long synced = s.getPeersList().stream().filter(PeerStatus::getSynced).count();
      long endpoints = s.getPeersList().stream().mapToLong(PeerStatus::getEndpoints).sum();
      long identities = s.getPeersList().stream().mapToLong(PeerStatus::getIdentities).sum();
      long services = s.getPeersList().stream().mapToLong(PeerStatus::getGlobalServices).sum();
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cluster", s.getSelf().getName());
        m.put("clusterId", s.getSelf().getId());
        m.put("podCidrs", s.getSelf().getPodCidrsList());
        m.put("exportStreams", s.getExportStreams());
        List<Map<String, Object>> peers = new ArrayList<>();
        for (PeerStatus p : s.getPeersList()) {
          Map<String, Object> pm = new LinkedHashMap<>();
          pm.put("name", p.getName());
          pm.put("address", p.getAddress());
          pm.put("clusterId", p.getClusterId());
          pm.put("synced", p.getSynced());
          pm.put("revision", p.getRevision());
          pm.put("problem", p.getProblem());
          pm.put("identities", p.getIdentities());
          pm.put("endpoints", p.getEndpoints());
          pm.put("nodes", p.getNodes());
          pm.put("globalServices", p.getGlobalServices());
          pm.put("refused", p.getRefused());
          pm.put("snapshots", p.getSnapshots());
          peers.add(pm);
        }
        m.put("peers", peers);
        m.put("remoteEndpoints", endpoints);
        m.put("remoteIdentities", identities);
        m.put("globalServices", services);
        Output.json(out, m);
        return;
      }
      out.printf(
          "Cluster:     %s (ID %d, pods %s)%n",
          s.getSelf().getName(),
          s.getSelf().getId(),
          String.join(", ", s.getSelf().getPodCidrsList()));
      out.printf(
          "ClusterMesh: %d/%d clusters connected, %,d remote endpoints, %,d remote identities, %d"
              + " global service%s%n",
          synced + 1,
          s.getPeersCount() + 1,
          endpoints,
          identities,
          services,
          services == 1 ? "" : "s");
      for (PeerStatus p : s.getPeersList()) {
        out.printf(
            "  %-16s %-21s ID %-3d %-8s rev %-8d %,d endpoints, %,d identities, %,d nodes, %d"
                + " services%s%s%n",
            p.getName(),
            p.getAddress(),
            p.getClusterId(),
            p.getSynced() ? "synced" : "NOT SYNCED",
            p.getRevision(),
            p.getEndpoints(),
            p.getIdentities(),
            p.getNodes(),
            p.getGlobalServices(),
            p.getRefused() > 0 ? ", " + p.getRefused() + " records refused" : "",
            p.getProblem().isEmpty() ? "" : "\n      " + p.getProblem());
      }
      out.flush();
    }
  }
}
