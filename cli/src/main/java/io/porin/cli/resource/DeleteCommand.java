package io.porin.cli.resource;

import io.porin.api.resource.v1.DeleteRequest;
import io.porin.api.resource.v1.DeleteResponse;
import io.porin.api.resource.v1.ResourceRef;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin delete}: remove resources named by files or by kind and name. */
@Command(
    name = "delete",
    description = {
      "Delete resources named in files (-f) or by KIND NAME... (-n NAMESPACE).",
      "Deleting a Namespace deletes everything in it."
    })
public class DeleteCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = {"-f", "--filename"},
      paramLabel = "FILE|DIR|-",
      description = "Files naming the resources (as given to apply)")
  List<String> files = new ArrayList<>();

  @Option(
      names = {"-n", "--namespace"},
      description = "Namespace of the named resources (default: default)")
  String namespace = "default";

  @Parameters(paramLabel = "KIND NAME", description = "A kind (pod, cnp, netpol, ...) and names")
  List<String> kindAndNames = new ArrayList<>();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (files.isEmpty() == kindAndNames.isEmpty()) {
      spec.commandLine().getErr().println("porin: give either -f FILE or KIND NAME...");
      return Main.BAD_INPUT;
    }
    if (!kindAndNames.isEmpty() && kindAndNames.size() < 2) {
      spec.commandLine().getErr().println("porin: KIND needs at least one NAME");
      return Main.BAD_INPUT;
    }
    StringBuilder text = new StringBuilder();
    try {
      for (ResourceFiles.Input in : ResourceFiles.read(files, System.in)) {
        text.append(in.text()).append("\n---\n");
      }
    } catch (IOException e) {
      spec.commandLine().getErr().println("porin: -f: " + e.getMessage());
      return Main.BAD_INPUT;
    }
    DeleteRequest.Builder req = DeleteRequest.newBuilder().setText(text.toString());
    for (int i = 1; i < kindAndNames.size(); i++) {
      req.addRefs(
          ResourceRef.newBuilder()
              .setKind(kindAndNames.getFirst())
              .setNamespace(namespace)
              .setName(kindAndNames.get(i)));
    }
    return ServiceCall.run(
        spec,
        ServiceCall.Service.POLICY,
        ResourcesGrpc::newBlockingStub,
        stub -> {
          DeleteResponse r = stub.delete(req.build());
          if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
            Output.json(
                out,
                Map.of(
                    "results",
                    r.getResultsList().stream().map(x -> ApplyCommand.json("", x)).toList()));
          } else {
            for (Result x : r.getResultsList()) {
              out.println(ApplyCommand.line(x, false));
            }
            out.flush();
          }
          io.porin.cli.lab.LabPods.sync(spec, stub);
          boolean refused =
              r.getResultsList().stream()
                  .anyMatch(x -> x.getOutcome() == io.porin.api.resource.v1.Outcome.REFUSED);
          return refused ? Main.BAD_INPUT : 0;
        });
  }
}
