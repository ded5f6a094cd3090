package io.porin.cli.connectivity;

import io.porin.api.policy.v1.WaitRequest;
import io.porin.api.policy.v1.WaitResponse;
import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ApplyResponse;
import io.porin.api.resource.v1.DeleteRequest;
import io.porin.api.resource.v1.Outcome;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.cluster.Cluster;
import io.porin.cli.context.Contexts;
import io.porin.cli.lab.LabPods;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.lab.Host;
import io.porin.lab.Installation;
import io.porin.lab.LabDirectory;
import io.porin.lab.LabState;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin connectivity test}: Porin's own end-to-end suite, run against a lab. */
@Command(
    name = "connectivity",
    description = "Check that the cluster connects and enforces policy (as cilium connectivity).",
    subcommands = {ConnectivityCommand.Test.class})
public class ConnectivityCommand {

  @Command(
      name = "test",
      description = {
        "Deploy clients and echo servers in a namespace it creates (porin-test), probe",
        "pod-to-pod on one node and across nodes, then under policies: default deny, allow by",
        "label, deny beating allow, L4 ports, entities and CIDRs. Each check is printed with",
        "pass/fail and what was observed; the namespace is removed at the end. Exit 1 if any",
        "check failed. Needs a lab context (pods run in the lab's runtime)."
      })
  static class Test implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--test-namespace", description = "Namespace to use (default: porin-test)")
    String ns = "porin-test";

    @Option(names = "--keep", description = "Leave the namespace and its pods when done")
    boolean keep;

    @Override
    public Integer call() throws Exception {
      Contexts.Named ctx = GlobalOptions.of(spec).context();
      if (ctx.context().lab() == null) {
        spec.commandLine()
            .getErr()
            .println(
                "porin: connectivity test runs its pods in a lab: context \""
                    + ctx.name()
                    + "\" is not one (porin lab up)");
        return Main.BAD_INPUT;
      }
      boolean json = GlobalOptions.of(spec).output() == OutputFormat.JSON;
      PrintWriter out = json ? spec.commandLine().getErr() : spec.commandLine().getOut();
      LabDirectory dir = io.porin.cli.Env.labDirectory();
      List<Suite.Outcome> results = new ArrayList<>();
      try (Cluster c = new Cluster(ctx.context())) {
        LabState lab = dir.load(ctx.context().lab()).orElseThrow();
        Suite suite = new Suite(ns, lab, Installation.find().podProgram().toString());
        out.println("[" + ns + "] deploying " + suite.podsText());
        out.flush();
        apply(c, suite.workloadYaml());
        LabPods.sync(spec, c.resources().withDeadlineAfter(120, TimeUnit.SECONDS));
        lab = dir.load(ctx.context().lab()).orElseThrow();
        suite.bind(lab);
        List<String> notServing = suite.awaitServing(15_000);
        if (!notServing.isEmpty()) {
          out.println(
              "[" + ns + "] not serving after 15 s (checks to them will fail): " + notServing);
        }
        suite.clusterIps(name -> clusterIps(c, ns, name));
        try {
          for (Suite.Scenario sc : suite.scenarios()) {
            out.println(
                "["
                    + ns
                    + "] "
                    + sc.name()
                    + (sc.policyYaml() == null ? "" : " (policy " + sc.policyNames() + ")"));
            out.flush();
            if (sc.skip() != null) {
              Suite.Outcome o = new Suite.Outcome(sc.name(), sc.name(), "skip", sc.skip());
              results.add(o);
              out.println("  [SKIP] " + sc.skip());
              continue;
            }
            if (sc.policyYaml() != null) {
              apply(c, sc.policyYaml());
              awaitEnforced(c, ns, sc.policyCount());
            }
            for (Suite.Check check : sc.checks()) {
              Suite.Outcome o = suite.run(sc, check);
              results.add(o);
              out.println(
                  "  ["
                      + o.result().toUpperCase(java.util.Locale.ROOT)
                      + "] "
                      + o.check()
                      + ": "
                      + o.observed());
              out.flush();
            }
            if (sc.policyYaml() != null) {
              c.resources().delete(DeleteRequest.newBuilder().setText(sc.policyYaml()).build());
              awaitEnforced(c, ns, 0);
            }
          }
        } finally {
          if (!keep) {
            c.resources()
                .withDeadlineAfter(120, TimeUnit.SECONDS)
                .delete(DeleteRequest.newBuilder().setText(suite.namespaceYaml()).build());
            LabPods.sync(spec, c.resources().withDeadlineAfter(120, TimeUnit.SECONDS));
            out.println("[" + ns + "] removed");
          }
        }
      }
      long failed = results.stream().filter(r -> r.result().equals("fail")).count();
      long passed = results.stream().filter(r -> r.result().equals("pass")).count();
      long skipped = results.stream().filter(r -> r.result().equals("skip")).count();
      String summary = passed + " passed, " + failed + " failed, " + skipped + " skipped";
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("passed", passed);
        m.put("failed", failed);
        m.put("skipped", skipped);
        m.put("checks", results);
        Output.json(spec.commandLine().getOut(), m);
      } else {
        out.println((failed == 0 ? "All checks passed: " : "Some checks FAILED: ") + summary);
        out.flush();
      }
      return failed == 0 ? 0 : ServiceCall.FAILED;
    }

    /** A service's cluster IPs as the store holds them (allocated at apply). */
    private static List<String> clusterIps(Cluster c, String ns, String name) {
      for (var r :
          c.resources()
              .list(
                  io.porin.api.resource.v1.ListRequest.newBuilder()
                      .setKind("services")
                      .setNamespace(ns)
                      .build())
              .getResourcesList()) {
        if (r.getRef().getName().equals(name)) {
          try {
            List<String> ips = new ArrayList<>();
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(r.getJson())
                .path("spec")
                .path("clusterIPs")
                .forEach(ip -> ips.add(ip.asText()));
            return ips;
          } catch (java.io.IOException e) {
            throw new IllegalStateException("the stored service " + name + " is not JSON");
          }
        }
      }
      return List.of();
    }

    private static void apply(Cluster c, String yaml) {
      ApplyResponse r =
          c.resources()
              .apply(
                  ApplyRequest.newBuilder().setText(yaml).setSource("connectivity test").build());
      r.getResultsList().stream()
          .filter(x -> x.getOutcome() == Outcome.REFUSED)
          .findFirst()
          .ifPresent(
              x -> {
                throw new IllegalStateException(
                    "the suite's own resource was refused: " + x.getMessage());
              });
    }

    /**
     * Waits until the policy service has compiled the namespace's policies and every node has
     * acknowledged that revision (porin policy wait).
     */
    private static void awaitEnforced(Cluster c, String ns, int policies)
        throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        var list = c.policy().list(io.porin.api.policy.v1.ListRequest.getDefaultInstance());
        long valid =
            list.getPoliciesList().stream()
                .filter(p -> p.getPolicy().getNamespace().equals(ns))
                .filter(p -> p.getState().equals("valid"))
                .count();
        if (valid == policies) {
          WaitResponse w =
              c.policy()
                  .withDeadlineAfter(40, TimeUnit.SECONDS)
                  .wait(WaitRequest.newBuilder().setTimeoutMillis(30_000).build());
          if (w.getReached()) {
            return;
          }
        }
        Thread.sleep(200);
      }
      throw new IllegalStateException("the policies were not enforced on every node within 60 s");
    }
  }

  /**
   * Runs a probe from a pod, as the pod's own process: in its cgroup (socket load balancing) when
   * the lab made one, in its network namespace. The exit code and what it printed.
   */
  static Host.Result probe(java.nio.file.Path cgroup, String netns, List<String> argv) {
    List<String> cmd = Host.inNetns(netns, argv);
    if (java.nio.file.Files.isDirectory(cgroup)) {
      cmd = io.porin.lab.Cgroups.inCgroup(cgroup, cmd);
    }
    return Host.run(cmd, Map.of(), null, 20);
  }
}
