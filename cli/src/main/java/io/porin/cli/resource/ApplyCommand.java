package io.porin.cli.resource;

import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ApplyResponse;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.api.resource.v1.Result;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin apply -f}: validate and store resources, saying what happened to each. */
@Command(
    name = "apply",
    description = {
      "Create or update resources (Namespaces, Pods, Services, NetworkPolicies,",
      "CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies) from YAML or JSON.",
      "Every document is validated first; valid ones are stored, refused ones are",
      "reported with the field and value that is wrong. Exit 2 if any was refused."
    })
public class ApplyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = {"-f", "--filename"},
      required = true,
      paramLabel = "FILE|DIR|-",
      description = "A file, a directory (its .yaml/.yml/.json files) or - for stdin")
  List<String> files;

  @Option(names = "--dry-run", description = "Validate and report, but store nothing")
  boolean dryRun;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<ResourceFiles.Input> inputs;
    try {
      inputs = ResourceFiles.read(files, System.in);
    } catch (IOException e) {
      spec.commandLine().getErr().println("porin: -f: " + e.getMessage());
      return Main.BAD_INPUT;
    }
    boolean json = GlobalOptions.of(spec).output() == OutputFormat.JSON;
    return ServiceCall.run(
        spec,
        ServiceCall.Service.POLICY,
        ResourcesGrpc::newBlockingStub,
        stub -> {
          int refused = 0;
          List<Map<String, Object>> all = new ArrayList<>();
          for (ResourceFiles.Input in : inputs) {
            ApplyResponse r =
                stub.apply(
                    ApplyRequest.newBuilder()
                        .setText(in.text())
                        .setSource(in.name())
                        .setDryRun(dryRun)
                        .build());
            for (Result x : r.getResultsList()) {
              if (x.getOutcome() == io.porin.api.resource.v1.Outcome.REFUSED) {
                refused++;
              }
              if (json) {
                all.add(json(in.name(), x));
              } else {
                out.println(line(x, dryRun));
              }
            }
            out.flush();
          }
          int failedPods = dryRun ? 0 : io.porin.cli.lab.LabPods.sync(spec, stub);
          if (json) {
            Output.json(out, Map.of("dryRun", dryRun, "results", all));
          }
          return refused > 0 ? Main.BAD_INPUT : failedPods > 0 ? ServiceCall.FAILED : 0;
        });
  }

  static String line(Result x, boolean dryRun) {
    String outcome = x.getOutcome().name().toLowerCase(Locale.ROOT).replace('_', ' ');
    if (x.getOutcome() == io.porin.api.resource.v1.Outcome.REFUSED) {
      return "refused: " + x.getMessage();
    }
    return name(x)
        + " "
        + outcome
        + (dryRun ? " (dry run)" : "")
        + (x.getMessage().isEmpty() ? "" : " (warning: " + x.getMessage() + ")");
  }

  static String name(Result x) {
    String ns = x.getRef().getNamespace();
    return x.getRef().getKind() + " " + (ns.isEmpty() ? "" : ns + "/") + x.getRef().getName();
  }

  static Map<String, Object> json(String file, Result x) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("file", file);
    m.put("document", x.getDocument());
    m.put("kind", x.getRef().getKind());
    m.put("namespace", x.getRef().getNamespace());
    m.put("name", x.getRef().getName());
    m.put("outcome", x.getOutcome().name().toLowerCase(Locale.ROOT));
    m.put("message", x.getMessage());
    return m;
  }
}
