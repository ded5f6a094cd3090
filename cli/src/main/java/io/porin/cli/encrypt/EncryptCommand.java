package io.porin.cli.encrypt;

import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.EncryptStatusRequest;
import io.porin.api.agent.v1.EncryptionStatus;
import io.porin.api.agent.v1.RotateKeyRequest;
import io.porin.api.agent.v1.RotateKeyResponse;
import io.porin.api.agent.v1.StatusRequest;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.cluster.Cluster;
import io.porin.cli.context.Contexts;
import io.porin.cli.output.Output;
import io.porin.cli.output.OutputFormat;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code porin encrypt}: transparent encryption between nodes (WireGuard), as cilium encrypt. */
@Command(
    name = "encrypt",
    description = "Transparent encryption between nodes (WireGuard), as cilium encrypt.",
    subcommands = {EncryptCommand.Status.class, EncryptCommand.Rotate.class})
public class EncryptCommand {

  /**
   * The agents to ask: --node's, else every node of the context. A context with one agent and no
   * node list has that agent, whose node must be the one --node names.
   */
  static Map<String, String> agents(GlobalOptions opts) {
    Contexts.Context c = opts.context().context();
    if (opts.node().isEmpty() || c.nodes() == null) {
      return c.agents();
    }
    return Map.of(opts.node().get(), opts.agentAddress());
  }

  /** Refuses an agent that is not the node --node names (a context without a node list). */
  static String notTheNode(GlobalOptions opts, String address, String there) {
    String node = opts.node().orElse(there);
    return node.equals(there)
        ? null
        : "--node: \""
            + node
            + "\" is not the node of this context's agent at "
            + address
            + " (it is \""
            + there
            + "\")";
  }

  @Command(
      name = "status",
      description = {
        "Each node's WireGuard device and peers (as cilium encrypt status).",
        "The device's mode, interface, port, public key and strict mode; each peer's endpoint,",
        "allowed IPs, latest handshake and bytes. --node picks one node. Exit 1 when a node",
        "could not be asked."
      })
  static class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      GlobalOptions opts = GlobalOptions.of(spec);
      Contexts.Named ctx = opts.context();
      Map<String, String> agents = agents(opts);
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      boolean json = opts.output() == OutputFormat.JSON;
      List<Map<String, Object>> all = new ArrayList<>();
      boolean failed = false;
      boolean first = true;
      try (Cluster c = new Cluster(ctx.context())) {
        for (var e : agents.entrySet()) {
          Cluster.Answer<EncryptionStatus> a =
              Cluster.call(
                  "agent " + e.getValue(),
                  () ->
                      c.agent(e.getValue())
                          .encryptStatus(EncryptStatusRequest.getDefaultInstance()));
          if (!a.ok()) {
            failed = true;
            if (json) {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("node", e.getKey());
              m.put("agent", e.getValue());
              m.put("error", a.error());
              all.add(m);
            } else {
              err.println(
                  "porin: "
                      + (e.getKey().isEmpty() ? "" : "node " + e.getKey() + ": ")
                      + a.error()
                      + " (context \""
                      + ctx.name()
                      + "\")");
              err.flush();
            }
            continue;
          }
          String wrong =
              ctx.context().nodes() == null
                  ? notTheNode(opts, e.getValue(), a.value().getNode())
                  : null;
          if (wrong != null) {
            err.println("porin: " + wrong);
            err.flush();
            return Main.BAD_INPUT;
          }
          if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", a.value().getNode());
            m.put("agent", e.getValue());
            m.putAll(EncryptionView.json(a.value()));
            all.add(m);
          } else {
            if (!first) {
              out.println();
            }
            first = false;
            EncryptionView.print(out, a.value(), Instant.now());
            out.flush();
          }
        }
      }
      if (json) {
        Output.json(out, all);
      }
      return failed ? ServiceCall.FAILED : 0;
    }
  }

  @Command(
      name = "rotate",
      description = {
        "A new WireGuard key pair for the node --node names (required).",
        "The other nodes switch to its new public key as they see the node's record."
      })
  static class Rotate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      GlobalOptions opts = GlobalOptions.of(spec);
      Contexts.Context c = opts.context().context();
      PrintWriter err = spec.commandLine().getErr();
      if (opts.node().isEmpty()) {
        err.println(
            "porin: encrypt rotate: --node is required (the node whose key to rotate"
                + (c.nodes() == null ? "" : "; this context's nodes: " + c.nodes().keySet())
                + ")");
        err.flush();
        return Main.BAD_INPUT;
      }
      // A context with one agent and no node list: that agent must be the node named.
      String address = c.nodes() == null ? c.agent() : opts.agentAddress();
      return ServiceCall.run(
          ServiceCall.Service.AGENT,
          address,
          opts.context(),
          err,
          channel -> {
            var stub = AgentGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            if (c.nodes() == null) {
              String wrong =
                  notTheNode(
                      opts, address, stub.status(StatusRequest.getDefaultInstance()).getNode());
              if (wrong != null) {
                err.println("porin: " + wrong);
                err.flush();
                return Main.BAD_INPUT;
              }
            }
            RotateKeyResponse r = stub.rotateKey(RotateKeyRequest.getDefaultInstance());
            PrintWriter out = spec.commandLine().getOut();
            Output.print(
                out,
                opts.output(),
                () -> Map.of("node", r.getNode(), "publicKey", r.getPublicKey()),
                () -> rotated(r));
            return 0;
          });
    }
  }

  /** What rotate prints. */
  static String rotated(RotateKeyResponse r) {
    return "node "
        + r.getNode()
        + ": new public key "
        + r.getPublicKey()
        + "; peers switch to it as they see the node's record";
  }
}
