package io.porin.bench.policy;

import io.porin.core.labels.LabelSet;
import io.porin.core.policy.PolicyChanges;
import io.porin.core.policy.PolicyCompiler;
import io.porin.core.policy.PolicySettings;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The policy compiler at cluster scale (see {@link PolicyWorkload}): a full compile (time, heap,
 * entries), then the incremental paths — a new identity, a changed app policy, a changed
 * namespace-isolation policy — each as commit latency percentiles. The baseline, measured in the
 * same run, is a full recompile of every identity (what a non-incremental compiler does for any
 * change); each incremental figure is reported as a ratio to it.
 *
 * <p>Usage: {@code PolicyCompileBench [NAMESPACES] [ROUNDS]} (defaults 100, 200).
 */
public final class PolicyCompileBench {
  private PolicyCompileBench() {}

  public static void main(String[] args) {
    int namespaces = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    Map<Integer, LabelSet> identities = PolicyWorkload.identities(namespaces);
    List<PolicyResource> policies = new ArrayList<>();
    for (int ns = 0; ns < namespaces; ns++) {
      for (String yaml : PolicyWorkload.policies(ns, namespaces, 0)) {
        policies.add(parse(yaml));
      }
    }
    System.out.printf(
        "workload: %d identities, %d policies (%d namespaces)%n",
        identities.size(), policies.size(), namespaces);

    // Full compile, three times; the last one is reported (JIT warm).
    PolicyCompiler compiler = null;
    long fullNanos = 0;
    long heap = 0;
    for (int run = 0; run < 3; run++) {
      compiler = null;
      long before = usedHeap();
      long t0 = System.nanoTime();
      compiler = new PolicyCompiler(PolicySettings.defaults(1));
      for (Map.Entry<Integer, LabelSet> e : identities.entrySet()) {
        compiler.putIdentity(e.getKey(), e.getValue());
      }
      for (PolicyResource p : policies) {
        compiler.putPolicy(p.ref(), p.rules());
      }
      PolicyChanges c = compiler.commit();
      fullNanos = System.nanoTime() - t0;
      heap = usedHeap() - before;
      if (run == 2) {
        long entries = c.updated().values().stream().mapToLong(x -> x.entryCount()).sum();
        System.out.printf(
            "full compile: %.0f ms, %d identities, %,d entries, retained heap %.0f MiB%n",
            fullNanos / 1e6, c.updated().size(), entries, heap / 1048576.0);
      }
    }

    // Baseline: recompile every identity from scratch (what a change costs without incrementality).
    long[] baseline = new long[3];
    for (int i = 0; i < baseline.length; i++) {
      long t0 = System.nanoTime();
      for (int id : identities.keySet()) {
        compiler.compileFull(id);
      }
      baseline[i] = System.nanoTime() - t0;
    }
    Arrays.sort(baseline);
    double baselineMs = baseline[1] / 1e6;
    System.out.printf("baseline (recompile all identities): %.0f ms%n", baselineMs);

    // New identities: a new version of an app in a namespace, then removed again.
    long[] add = new long[rounds];
    long[] remove = new long[rounds];
    int touched = 0;
    for (int r = 0; r < rounds; r++) {
      int ns = r % namespaces;
      int id = PolicyWorkload.identity(ns, 0, 0) + 60_000 - 256 - ns * 100; // above the workload
      LabelSet labels = PolicyWorkload.labels(ns, r % 20, 5 + r);
      long t0 = System.nanoTime();
      compiler.putIdentity(id, labels);
      PolicyChanges c = compiler.commit();
      add[r] = System.nanoTime() - t0;
      touched += c.updated().size();
      t0 = System.nanoTime();
      compiler.removeIdentity(id);
      compiler.commit();
      remove[r] = System.nanoTime() - t0;
    }
    report("new identity", add, baselineMs, "identities updated per change: " + touched / rounds);
    report("removed identity", remove, baselineMs, "");

    // A changed app-to-app policy (port changes), and a changed namespace-isolation policy.
    long[] app = new long[rounds];
    long[] iso = new long[rounds];
    for (int r = 0; r < rounds; r++) {
      int ns = r % namespaces;
      List<String> docs = PolicyWorkload.policies(ns, namespaces, 1 + r % 7);
      PolicyResource changedApp = parse(docs.get(1));
      long t0 = System.nanoTime();
      compiler.putPolicy(changedApp.ref(), changedApp.rules());
      compiler.commit();
      app[r] = System.nanoTime() - t0;
      PolicyResource isolation =
          parse(docs.getFirst().replace("toEntities: [dns]", "toEntities: [dns, kube-apiserver]"));
      PolicyResource original = parse(PolicyWorkload.policies(ns, namespaces, 0).getFirst());
      PolicyResource next = r % 2 == 0 ? isolation : original;
      t0 = System.nanoTime();
      compiler.putPolicy(next.ref(), next.rules());
      compiler.commit();
      iso[r] = System.nanoTime() - t0;
    }
    report("changed app policy", app, baselineMs, "");
    report("changed namespace-isolation policy", iso, baselineMs, "");
  }

  private static void report(String what, long[] nanos, double baselineMs, String extra) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    double p50 = s[s.length / 2] / 1e6;
    double p99 = s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1e6;
    System.out.printf(
        "%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (p50 = %.4fx the baseline)%s%n",
        what,
        p50,
        p99,
        s[s.length - 1] / 1e6,
        p50 / baselineMs,
        extra.isEmpty() ? "" : "; " + extra);
  }

  private static PolicyResource parse(String yaml) {
    ResourceParser.Result r = ResourceParser.parse(yaml);
    if (!r.refusals().isEmpty()) {
      throw new IllegalStateException(r.refusals().toString());
    }
    Resource res = r.resources().getFirst();
    return (PolicyResource) res;
  }

  private static long usedHeap() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
