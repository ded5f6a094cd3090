package io.porin.cli.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.api.audit.v1.AuditGrpc;
import io.porin.api.audit.v1.ListRequest;
import io.porin.cli.Durations;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin audit}: who changed what, by certificate. */
@Command(
    name = "audit",
    description = "The audit log of changes.",
    subcommands = {AuditCommand.Log.class})
public class AuditCommand {

  @Command(
      name = "log",
      description = {
        "Every apply and delete of resources, identity allocation by someone other than a",
        "node agent, and revocation: when, which service, who (by certificate), what, result."
      })
  static class Log implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec CommandSpec spec;

    @Option(
        names = "--since",
        description = "Only records since this long ago (10m, 2h) or since a time (RFC 3339)")
    String since;

    @Override
    public Integer call() {
      Instant from = null;
      if (since != null) {
        try {
          from = Instant.parse(since);
        } catch (DateTimeParseException notATime) {
          try {
            from = Instant.now().minus(Durations.parse("--since", since));
          } catch (IllegalArgumentException e) {
            spec.commandLine()
                .getErr()
                .println(
                    "porin: --since: \"" + since + "\" is neither a duration (10m) nor a time");
            return Main.BAD_INPUT;
          }
        }
      }
      String sinceText = from == null ? "" : from.toString();
      return ServiceCall.run(
          spec,
          ServiceCall.Service.POLICY,
          AuditGrpc::newBlockingStub,
          stub -> {
            List<String> records =
                stub.list(ListRequest.newBuilder().setSince(sinceText).build()).getRecordsList();
            PrintWriter out = spec.commandLine().getOut();
            List<JsonNode> parsed = new ArrayList<>();
            for (String r : records) {
              try {
                parsed.add(JSON.readTree(r));
              } catch (java.io.IOException e) {
                parsed.add(JSON.createObjectNode().put("unreadable", r));
              }
            }
            if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
              Output.json(out, parsed);
            } else {
              Table t = new Table("TIME", "SERVICE", "WHO", "ACTION", "RESOURCE", "RESULT");
              for (JsonNode n : parsed) {
                t.row(
                    n.path("time").asText(),
                    n.path("service").asText(),
                    n.path("who").asText(),
                    n.path("action").asText(),
                    n.path("resource").asText(),
                    n.path("result").asText());
              }
              t.print(out);
            }
            return 0;
          });
    }
  }
}
