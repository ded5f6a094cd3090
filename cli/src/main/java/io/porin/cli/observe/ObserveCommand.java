package io.porin.cli.observe;

import com.google.protobuf.Timestamp;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.api.hubble.observer.ObserverGrpc;
import io.porin.cli.GlobalOptions;
import io.porin.cli.Main;
import io.porin.cli.ServiceCall;
import io.porin.cli.output.OutputFormat;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code porin observe}: flows from every node (through the relay), with Hubble's flags. */
@Command(
    name = "observe",
    description = {
      "Flows from every node, through the relay, as hubble observe shows them: each connection",
      "and each drop, with the verdict, the drop reason and the policy that decided.",
      "Filters of different kinds must all match; a flag given twice matches either value."
    })
public class ObserveCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--verdict",
      description =
          "FORWARDED, DROPPED, DENIED (dropped by policy), ENCRYPTED (went through WireGuard),"
              + " AUDIT, ERROR")
  List<String> verdicts = new ArrayList<>();

  @Option(
      names = {"-n", "--namespace"},
      description = "Flows from or to pods of this namespace")
  List<String> namespaces = new ArrayList<>();

  @Option(names = "--pod", description = "Flows from or to this pod ([ns/]name prefix)")
  List<String> pods = new ArrayList<>();

  @Option(names = "--from-pod", description = "Flows from this pod")
  List<String> fromPods = new ArrayList<>();

  @Option(names = "--to-pod", description = "Flows to this pod")
  List<String> toPods = new ArrayList<>();

  @Option(
      names = "--to-service",
      description = "Flows to this service (NAME or NAMESPACE/NAME), translated to a backend")
  List<String> toServices = new ArrayList<>();

  @Option(names = "--from-service", description = "Flows from this service")
  List<String> fromServices = new ArrayList<>();

  @Option(
      names = {"-l", "--label"},
      description = "Flows from or to endpoints with these labels (a selector)")
  List<String> labels = new ArrayList<>();

  @Option(
      names = "--cluster",
      description =
          "Flows from or to pods of this cluster of a mesh (their io.cilium.k8s.policy.cluster"
              + " label); with --label, pods with those labels in this cluster")
  String cluster;

  @Option(names = "--from-label", description = "Flows from endpoints with these labels")
  List<String> fromLabels = new ArrayList<>();

  @Option(names = "--to-label", description = "Flows to endpoints with these labels")
  List<String> toLabels = new ArrayList<>();

  @Option(names = "--identity", description = "Flows from or to this security identity")
  List<Integer> identities = new ArrayList<>();

  @Option(names = "--from-identity", description = "Flows from this identity")
  List<Integer> fromIdentities = new ArrayList<>();

  @Option(names = "--to-identity", description = "Flows to this identity")
  List<Integer> toIdentities = new ArrayList<>();

  @Option(names = "--protocol", description = "tcp, udp, sctp, icmp, icmpv4, icmpv6")
  List<String> protocols = new ArrayList<>();

  @Option(names = "--port", description = "Flows from or to this port")
  List<Integer> ports = new ArrayList<>();

  @Option(names = "--from-port", description = "Flows from this port")
  List<Integer> fromPorts = new ArrayList<>();

  @Option(names = "--to-port", description = "Flows to this port")
  List<Integer> toPorts = new ArrayList<>();

  @Option(
      names = {"-t", "--type"},
      description = "drop, policy-verdict, trace (optionally :SUBTYPE)")
  List<String> types = new ArrayList<>();

  @Option(names = "--node-name", description = "Flows seen on these nodes (patterns with *)")
  List<String> nodeNames = new ArrayList<>();

  @Option(names = "--last", description = "The last N flows (default 20; 0 with --follow)")
  Long last;

  @Option(names = "--first", description = "The first N flows instead")
  Long first;

  @Option(names = "--since", description = "Flows since: RFC 3339 time or a duration ago (5m, 1h)")
  String since;

  @Option(names = "--until", description = "Flows until: RFC 3339 time or a duration ago")
  String until;

  @Option(
      names = "--all",
      description =
          "Also IPv6's link chatter (ICMPv6 neighbour discovery and MLD), hidden by default")
  boolean all;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep printing new flows")
  boolean follow;

  @Option(
      names = "--format",
      description =
          "compact, json (one GetFlowsResponse per line, as -o jsonpb), table, dict;"
              + " -o json also selects json")
  String format;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    GetFlowsRequest request;
    FlowPrinter printer;
    try {
      request = request();
      FlowPrinter.Format f =
          format != null
              ? format(format)
              : switch (GlobalOptions.of(spec).outputGiven().orElse(OutputFormat.COMPACT)) {
                case JSON -> FlowPrinter.Format.JSON;
                case TABLE -> FlowPrinter.Format.TABLE;
                case DICT -> FlowPrinter.Format.DICT;
                case COMPACT -> FlowPrinter.Format.COMPACT;
              };
      printer = new FlowPrinter(f, ZoneId.systemDefault());
    } catch (IllegalArgumentException e) {
      spec.commandLine().getErr().println("porin: " + e.getMessage());
      return Main.BAD_INPUT;
    }
    return ServiceCall.run(
        spec,
        ServiceCall.Service.RELAY,
        ObserverGrpc::newBlockingStub,
        follow ? Duration.ofDays(365) : Duration.ofSeconds(60),
        stub -> {
          Iterator<GetFlowsResponse> it = stub.getFlows(request);
          while (it.hasNext()) {
            GetFlowsResponse r = it.next();
            if (r.hasNodeStatus() && r.getNodeStatus().getStateChange().getNumber() >= 2) {
              spec.commandLine()
                  .getErr()
                  .println(
                      "warning: node "
                          + String.join(", ", r.getNodeStatus().getNodeNamesList())
                          + " "
                          + r.getNodeStatus().getStateChange().name()
                          + ": "
                          + r.getNodeStatus().getMessage());
              spec.commandLine().getErr().flush();
              continue;
            }
            String line = printer.print(r);
            if (!line.isEmpty()) {
              out.println(line);
              out.flush();
            }
          }
          return 0;
        });
  }

  static FlowPrinter.Format format(String f) {
    return switch (f.toLowerCase(Locale.ROOT)) {
      case "compact" -> FlowPrinter.Format.COMPACT;
      case "json", "jsonpb" -> FlowPrinter.Format.JSON;
      case "table" -> FlowPrinter.Format.TABLE;
      case "dict" -> FlowPrinter.Format.DICT;
      default ->
          throw new IllegalArgumentException(
              "--format: \"" + f + "\" is not one of compact, json, table, dict");
    };
  }

  GetFlowsRequest request() {
    GetFlowsRequest.Builder b =
        GetFlowsRequest.newBuilder()
            .addAllWhitelist(
                ObserveFilters.of(
                    new ObserveFilters.Flags(
                        verdicts,
                        namespaces,
                        pods,
                        fromPods,
                        toPods,
                        ObserveFilters.inCluster(labels, cluster),
                        fromLabels,
                        toLabels,
                        identities,
                        fromIdentities,
                        toIdentities,
                        protocols,
                        ports,
                        fromPorts,
                        toPorts,
                        types,
                        nodeNames,
                        fromServices,
                        toServices)))
            .setFollow(follow);
    if (!all) {
      b.addAllBlacklist(ObserveFilters.linkNoise());
    }
    if (first != null) {
      b.setNumber(first).setFirst(true);
    } else if (last != null) {
      b.setNumber(last);
    } else if (!follow && since == null) {
      b.setNumber(20);
    }
    if (since != null) {
      b.setSince(time("--since", since));
    }
    if (until != null) {
      b.setUntil(time("--until", until));
    }
    return b.build();
  }

  /** RFC 3339, or a duration before now. */
  static Timestamp time(String flag, String v) {
    Instant t;
    try {
      t = Instant.parse(v);
    } catch (DateTimeParseException e) {
      try {
        t = Instant.now().minus(io.porin.cli.Durations.parse(flag, v));
      } catch (IllegalArgumentException notADuration) {
        throw new IllegalArgumentException(
            flag + ": \"" + v + "\" is neither an RFC 3339 time nor a duration (30s, 5m, 1h)");
      }
    }
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
