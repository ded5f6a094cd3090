package io.porin.cli.identity;

import io.porin.api.identity.v1.GetRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.api.identity.v1.Identity;
import io.porin.api.identity.v1.ListRequest;
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

/** {@code porin identity}: security identities, as {@code cilium identity}. */
@Command(
    name = "identity",
    description = "Security identities: label sets and their numbers.",
    subcommands = {
      IdentityCommand.ListIdentities.class,
      IdentityCommand.GetIdentity.class,
      IdentityCommand.AllocateIdentity.class
    })
public class IdentityCommand {

  @Command(name = "list", description = "List every identity: reserved ones, then allocated ones.")
  static class ListIdentities implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          IdentitiesGrpc::newBlockingStub,
          stub -> {
            List<Identity> ids = stub.list(ListRequest.getDefaultInstance()).getIdentitiesList();
            print(ids, GlobalOptions.of(spec).output(), out);
            return 0;
          });
    }
  }

  @Command(name = "get", description = "Show one identity.")
  static class GetIdentity implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The identity's number")
    long id;

    @Override
    public Integer call() {
      if (id <= 0 || id > 0xFFFFFFFFL) {
        spec.commandLine().getErr().println("porin: ID: " + id + " is not an identity number");
        return 2;
      }
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          IdentitiesGrpc::newBlockingStub,
          stub -> {
            Identity identity = stub.get(GetRequest.newBuilder().setId((int) id).build());
            print(List.of(identity), GlobalOptions.of(spec).output(), out);
            return 0;
          });
    }
  }

  @Command(
      name = "allocate",
      description = {
        "Allocate (or find) the identity of a label set, with a reference held by --owner.",
        "For standalone workloads and testing: node agents allocate for their pods. The",
        "reference lasts while the owner is kept alive; then garbage collection may delete it."
      })
  static class AllocateIdentity implements Callable<Integer> {
    @Spec CommandSpec spec;

    @picocli.CommandLine.Option(
        names = "--owner",
        defaultValue = "porin-cli",
        description = "Who holds the reference (default: ${DEFAULT-VALUE})")
    String owner;

    @Parameters(
        arity = "1..*",
        paramLabel = "LABEL",
        description = "source:key=value, e.g. k8s:app=web")
    List<String> labels;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.IDENTITY,
          IdentitiesGrpc::newBlockingStub,
          stub -> {
            var r =
                stub.allocate(
                    io.porin.api.identity.v1.AllocateRequest.newBuilder()
                        .setOwner(owner)
                        .addAllLabels(labels)
                        .build());
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              print(List.of(r.getIdentity()), OutputFormat.JSON, out);
            } else {
              out.println(
                  (r.getCreated() ? "allocated " : "existing ")
                      + Integer.toUnsignedString(r.getIdentity().getId())
                      + "  "
                      + String.join(" ", r.getIdentity().getLabelsList())
                      + (r.getIgnoredLabelsCount() > 0
                          ? "  (ignored: " + String.join(" ", r.getIgnoredLabelsList()) + ")"
                          : ""));
              out.flush();
            }
            return 0;
          });
    }
  }

  /** ID and LABELS as {@code cilium identity list}; JSON as an array of objects. */
  static void print(List<Identity> ids, OutputFormat format, PrintWriter out) {
    if (format == OutputFormat.JSON) {
      List<Map<String, Object>> json = new ArrayList<>();
      for (Identity i : ids) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", Integer.toUnsignedLong(i.getId()));
        m.put("labels", i.getLabelsList());
        m.put("reserved", i.getReserved());
        m.put("clusterId", i.getClusterId());
        if (!i.getReserved()) {
          m.put("references", i.getReferences());
        }
        json.add(m);
      }
      Output.json(out, json);
      return;
    }
    Table t = new Table("ID", "LABELS");
    for (Identity i : ids) {
      t.row(List.of(List.of(Integer.toUnsignedString(i.getId())), i.getLabelsList()));
    }
    t.print(out);
  }
}
