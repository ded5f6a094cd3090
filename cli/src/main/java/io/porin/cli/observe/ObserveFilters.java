package io.porin.cli.observe;

import io.porin.api.hubble.flow.DropReason;
import io.porin.api.hubble.flow.EventTypeFilter;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code porin observe}'s flags as Hubble FlowFilters, the way the hubble CLI builds them: flags
 * for either side ({@code --pod}, {@code --label}, {@code --namespace}, {@code --identity}, {@code
 * --port}) make two filters, one matching the source and one the destination (OR-ed by the server);
 * {@code --from-*} and {@code --to-*} flags and the side-less ones go into both.
 */
public final class ObserveFilters {
  /** The flags, as given. */
  public record Flags(
      List<String> verdicts,
      List<String> namespaces,
      List<String> pods,
      List<String> fromPods,
      List<String> toPods,
      List<String> labels,
      List<String> fromLabels,
      List<String> toLabels,
      List<Integer> identities,
      List<Integer> fromIdentities,
      List<Integer> toIdentities,
      List<String> protocols,
      List<Integer> ports,
      List<Integer> fromPorts,
      List<Integer> toPorts,
      List<String> types,
      List<String> nodeNames,
      List<String> fromServices,
      List<String> toServices) {}

  private ObserveFilters() {}

  /**
   * --cluster: the either-side label selectors narrowed to one cluster of a mesh (each selector and
   * the cluster's label, or that label alone); unchanged without a cluster.
   */
  public static List<String> inCluster(List<String> labels, String cluster) {
    if (cluster == null) {
      return labels;
    }
    if (cluster.isBlank() || cluster.contains(",") || cluster.contains("=")) {
      throw new IllegalArgumentException("--cluster: \"" + cluster + "\" is not a cluster name");
    }
    String label = "k8s:io.cilium.k8s.policy.cluster=" + cluster;
    if (labels.isEmpty()) {
      return List.of(label);
    }
    return labels.stream().map(l -> l + "," + label).toList();
  }

  /**
   * The blacklist {@code porin observe} sends unless {@code --all}: IPv6's own ICMPv6 chatter on a
   * link, which every pod's stack sends and nobody debugging asks for: neighbour discovery and MLD
   * (to multicast addresses, ff00::/8) and neighbour solicitations and advertisements between
   * link-local addresses (fe80::/10). ICMPv6 between pods' own addresses (ping6) still shows.
   */
  public static List<FlowFilter> linkNoise() {
    return List.of(
        FlowFilter.newBuilder().addProtocol("icmpv6").addDestinationIp("ff00::/8").build(),
        FlowFilter.newBuilder().addProtocol("icmpv6").addSourceIp("fe80::/10").build());
  }

  /** A service as "namespace/name"; a bare name is in -n's namespace when one is given. */
  static String service(String flag, String value, List<String> namespaces) {
    if (value.isBlank() || value.chars().filter(c -> c == '/').count() > 1) {
      throw new IllegalArgumentException(
          flag + ": \"" + value + "\" is not NAME or NAMESPACE/NAME");
    }
    if (!value.contains("/") && namespaces.size() == 1) {
      return namespaces.getFirst() + "/" + value;
    }
    return value;
  }

  /**
   * The whitelist for these flags (empty: every flow).
   *
   * @throws IllegalArgumentException naming the flag and the value
   */
  public static List<FlowFilter> of(Flags f) {
    // A namespace only qualifies pod names when pods are given; alone it is an either-side filter.
    boolean namespaceAlone =
        !f.namespaces().isEmpty()
            && f.pods().isEmpty()
            && f.fromPods().isEmpty()
            && f.toPods().isEmpty();
    boolean either =
        namespaceAlone
            || !f.pods().isEmpty()
            || !f.labels().isEmpty()
            || !f.identities().isEmpty()
            || !f.ports().isEmpty();
    FlowFilter.Builder src = FlowFilter.newBuilder();
    FlowFilter.Builder dst = FlowFilter.newBuilder();
    for (FlowFilter.Builder b : List.of(src, dst)) {
      for (String p : f.fromPods()) {
        b.addSourcePod(pod("--from-pod", p, f.namespaces()));
      }
      for (String p : f.toPods()) {
        b.addDestinationPod(pod("--to-pod", p, f.namespaces()));
      }
      b.addAllSourceLabel(f.fromLabels()).addAllDestinationLabel(f.toLabels());
      f.fromIdentities().forEach(b::addSourceIdentity);
      f.toIdentities().forEach(b::addDestinationIdentity);
      f.fromPorts().forEach(p -> b.addSourcePort(port("--from-port", p)));
      f.toPorts().forEach(p -> b.addDestinationPort(port("--to-port", p)));
      for (String p : f.protocols()) {
        b.addProtocol(p.toLowerCase(Locale.ROOT));
      }
      for (String t : f.types()) {
        b.addEventType(type(t));
      }
      b.addAllNodeName(f.nodeNames());
      for (String svc : f.fromServices()) {
        b.addSourceService(service("--from-service", svc, f.namespaces()));
      }
      for (String svc : f.toServices()) {
        b.addDestinationService(service("--to-service", svc, f.namespaces()));
      }
    }
    // Either side: source in one filter, destination in the other.
    for (String p : f.pods()) {
      src.addSourcePod(pod("--pod", p, f.namespaces()));
      dst.addDestinationPod(pod("--pod", p, f.namespaces()));
    }
    if (f.pods().isEmpty() && f.fromPods().isEmpty() && f.toPods().isEmpty()) {
      for (String ns : f.namespaces()) {
        src.addSourcePod(ns + "/");
        dst.addDestinationPod(ns + "/");
      }
    }
    src.addAllSourceLabel(f.labels());
    dst.addAllDestinationLabel(f.labels());
    f.identities().forEach(src::addSourceIdentity);
    f.identities().forEach(dst::addDestinationIdentity);
    f.ports().forEach(p -> src.addSourcePort(port("--port", p)));
    f.ports().forEach(p -> dst.addDestinationPort(port("--port", p)));

    List<FlowFilter> sided = either ? List.of(src.build(), dst.build()) : List.of(src.build());
    return withVerdicts(sided, f.verdicts());
  }

  /**
   * --verdict: DENIED means dropped by policy (no allow rule, or a deny rule), ENCRYPTED went
   * through WireGuard (IP.encrypted); each is a filter of its own, OR-ed with the plain verdicts.
   */
  private static List<FlowFilter> withVerdicts(List<FlowFilter> filters, List<String> verdicts) {
    if (verdicts.isEmpty()) {
      return filters.size() == 1 && filters.getFirst().equals(FlowFilter.getDefaultInstance())
          ? List.of()
          : filters;
    }
    List<Verdict> plain = new ArrayList<>();
    boolean denied = false;
    boolean encrypted = false;
    for (String v : verdicts) {
      String u = v.toUpperCase(Locale.ROOT);
      if (u.equals("DENIED")) {
        denied = true;
        continue;
      }
      if (u.equals("ENCRYPTED")) {
        encrypted = true;
        continue;
      }
      try {
        Verdict x = Verdict.valueOf(u);
        if (x == Verdict.VERDICT_UNKNOWN || x == Verdict.UNRECOGNIZED) {
          throw new IllegalArgumentException();
        }
        plain.add(x);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--verdict: \""
                + v
                + "\" is not one of FORWARDED, DROPPED, DENIED, ENCRYPTED, AUDIT, ERROR,"
                + " REDIRECTED, TRACED, TRANSLATED");
      }
    }
    List<FlowFilter> out = new ArrayList<>();
    for (FlowFilter f : filters) {
      if (!plain.isEmpty()) {
        out.add(f.toBuilder().addAllVerdict(plain).build());
      }
      if (denied) {
        out.add(
            f.toBuilder()
                .addVerdict(Verdict.DROPPED)
                .addDropReasonDesc(DropReason.POLICY_DENIED)
                .addDropReasonDesc(DropReason.POLICY_DENY)
                .build());
      }
      if (encrypted) {
        out.add(f.toBuilder().addEncrypted(true).build());
      }
    }
    return out;
  }

  /**
   * "ns/name", or "name" in the --namespace given; with none, "name" is passed on as it is, which
   * Hubble reads as namespace default ("/name": any namespace).
   */
  static String pod(String flag, String p, List<String> namespaces) {
    if (p.isBlank() || p.chars().filter(c -> c == '/').count() > 1) {
      throw new IllegalArgumentException(flag + ": \"" + p + "\" is not [namespace/]pod");
    }
    if (p.contains("/") || namespaces.isEmpty()) {
      return p;
    }
    if (namespaces.size() > 1) {
      throw new IllegalArgumentException(
          flag + ": \"" + p + "\" needs its namespace (ns/pod) when several --namespace are given");
    }
    return namespaces.getFirst() + "/" + p;
  }

  static String port(String flag, int p) {
    if (p < 1 || p > 65535) {
      throw new IllegalArgumentException(flag + ": " + p + " is not a port");
    }
    return Integer.toString(p);
  }

  /** Hubble's --type names. */
  static EventTypeFilter type(String t) {
    String[] parts = t.split(":", 2);
    int type =
        switch (parts[0].toLowerCase(Locale.ROOT)) {
          case "drop" -> 1;
          case "debug" -> 2;
          case "capture" -> 3;
          case "trace" -> 4;
          case "policy-verdict" -> 5;
          case "trace-sock", "sock" -> 7;
          case "l7" -> 129;
          case "agent" -> 130;
          default ->
              throw new IllegalArgumentException(
                  "--type: \""
                      + t
                      + "\" is not one of drop, policy-verdict, trace, trace-sock, capture, debug, l7,"
                      + " agent");
        };
    EventTypeFilter.Builder b = EventTypeFilter.newBuilder().setType(type);
    if (parts.length == 2) {
      try {
        b.setMatchSubType(true).setSubType(Integer.parseInt(parts[1]));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--type: \"" + t + "\": the sub type is not a number");
      }
    }
    return b.build();
  }
}
