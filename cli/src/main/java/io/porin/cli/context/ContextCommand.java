package io.porin.cli.context;

import io.porin.cli.GlobalOptions;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import io.porin.cli.output.Table;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code porin context}: which Porin installation the other commands talk to. */
@Command(
    name = "context",
    description =
        "Contexts: where a Porin installation's services are ($PORIN_CONFIG or ~/.porin/config).",
    subcommands = {
      ContextCommand.ListContexts.class,
      ContextCommand.SetContext.class,
      ContextCommand.UseContext.class
    })
public class ContextCommand {

  @Command(name = "list", description = "List the contexts; * marks the current one.")
  static class ListContexts implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Contexts c = Contexts.load(Contexts.defaultPath());
      PrintWriter out = spec.commandLine().getOut();
      String current = c.current().orElse("");
      if (GlobalOptions.of(spec).output() == OutputFormat.JSON) {
        List<Map<String, Object>> json = new ArrayList<>();
        c.all()
            .forEach(
                (name, ctx) -> {
                  Map<String, Object> m = new LinkedHashMap<>();
                  m.put("name", name);
                  m.put("current", name.equals(current));
                  m.put("identity", ctx.identity());
                  m.put("ipam", ctx.ipam());
                  m.put("policy", ctx.policy());
                  m.put("agent", ctx.agent());
                  m.put("relay", ctx.relay());
                  m.put("lab", ctx.lab());
                  m.put("netns", ctx.netns());
                  m.put("nodes", ctx.agents());
                  json.add(m);
                });
        Output.json(out, json);
      } else {
        Table t = new Table("CURRENT", "NAME", "IDENTITY", "IPAM", "POLICY", "AGENTS", "NETNS");
        c.all()
            .forEach(
                (name, ctx) ->
                    t.row(
                        name.equals(current) ? "*" : "",
                        name,
                        ctx.identity(),
                        ctx.ipam(),
                        ctx.policy(),
                        String.join(",", ctx.agents().values()),
                        ctx.netns() == null ? "" : ctx.netns()));
        t.print(out);
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "set", description = "Add or replace a context.")
  static class SetContext implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Option(
        names = "--identity",
        description = "The identity service, host:port (default 127.0.0.1:9401)")
    String identity;

    @Option(names = "--ipam", description = "The IPAM service, host:port (default 127.0.0.1:9402)")
    String ipam;

    @Option(
        names = "--policy",
        description = "The policy service, host:port (default 127.0.0.1:9403)")
    String policy;

    @Option(names = "--agent", description = "The node agent, host:port (default 127.0.0.1:9404)")
    String agent;

    @Option(names = "--relay", description = "The flow relay, host:port (default 127.0.0.1:4245)")
    String relay;

    @Option(names = "--use", description = "Make it the current context")
    boolean use;

    @Option(names = "--ca", description = "The cluster CA certificate (PEM) servers must chain to")
    String ca;

    @Option(
        names = "--cert",
        description =
            "Your certificate (PEM; a Porin bundle from porin ca issue holds the key too)")
    String cert;

    @Option(names = "--key", description = "Your private key (PEM, mode 0600; default: --cert)")
    String key;

    @Option(
        names = "--insecure",
        description = "Plaintext, no certificates: only for a control plane run with --insecure")
    boolean insecure;

    @Override
    public Integer call() throws IOException {
      for (String[] flag :
          new String[][] {
            {"--identity", identity},
            {"--ipam", ipam},
            {"--policy", policy},
            {"--agent", agent},
            {"--relay", relay}
          }) {
        if (flag[1] != null && !flag[1].matches("[^:\\s]+:\\d{1,5}")) {
          spec.commandLine()
              .getErr()
              .println("porin: " + flag[0] + ": \"" + flag[1] + "\" is not host:port");
          return 2;
        }
      }
      if (!insecure && (ca == null || cert == null)) {
        spec.commandLine()
            .getErr()
            .println(
                "porin: --ca and --cert are required: the control plane only speaks mutual TLS"
                    + " (--insecure for one run without, for development)");
        return 2;
      }
      for (String[] file : new String[][] {{"--ca", ca}, {"--cert", cert}, {"--key", key}}) {
        if (file[1] != null && !java.nio.file.Files.isReadable(java.nio.file.Path.of(file[1]))) {
          spec.commandLine()
              .getErr()
              .println("porin: " + file[0] + ": cannot read \"" + file[1] + "\"");
          return 2;
        }
      }
      Contexts.load(Contexts.defaultPath())
          .with(
              name,
              new Contexts.Context(
                  identity,
                  ipam,
                  policy,
                  agent,
                  relay,
                  null,
                  null,
                  null,
                  ca,
                  cert,
                  key,
                  insecure ? Boolean.TRUE : null),
              use);
      spec.commandLine()
          .getOut()
          .println("context \"" + name + "\" set" + (use ? " and in use" : ""));
      return 0;
    }
  }

  @Command(name = "use", description = "Make a context the current one.")
  static class UseContext implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws IOException {
      try {
        Contexts.load(Contexts.defaultPath()).use(name);
      } catch (IllegalArgumentException e) {
        spec.commandLine().getErr().println("porin: " + e.getMessage());
        return 2;
      }
      spec.commandLine().getOut().println("using context \"" + name + "\"");
      return 0;
    }
  }
}
