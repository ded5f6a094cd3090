package io.porin.agent.flow;

import io.porin.api.hubble.flow.Endpoint;
import io.porin.api.hubble.flow.EventTypeFilter;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.Layer4;
import io.porin.api.hubble.flow.TCPFlags;
import io.porin.api.hubble.flow.Workload;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Hubble's flow filter semantics: within one {@link FlowFilter} every field that is set must match
 * (AND), and a field with several values matches when any does (OR); a request's whitelist matches
 * when any of its filters does (all flows when it is empty), and a blacklist match wins.
 */
public final class FlowFilters {
  private final List<FlowFilter> whitelist;
  private final List<FlowFilter> blacklist;

  public FlowFilters(List<FlowFilter> whitelist, List<FlowFilter> blacklist) {
    for (FlowFilter f : whitelist) {
      validate(f);
    }
    for (FlowFilter f : blacklist) {
      validate(f);
    }
    this.whitelist = List.copyOf(whitelist);
    this.blacklist = List.copyOf(blacklist);
  }

  public boolean test(Flow f) {
    for (FlowFilter b : blacklist) {
      if (matches(b, f)) {
        return false;
      }
    }
    if (whitelist.isEmpty()) {
      return true;
    }
    for (FlowFilter w : whitelist) {
      if (matches(w, f)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Checks what can be wrong in a filter before any flow is tested.
   *
   * @throws IllegalArgumentException naming the field and the value
   */
  static void validate(FlowFilter f) {
    for (String ip : f.getSourceIpList()) {
      cidr("source_ip", ip);
    }
    for (String ip : f.getDestinationIpList()) {
      cidr("destination_ip", ip);
    }
    for (String s : f.getSourceLabelList()) {
      LabelSelector.parse("source_label", s);
    }
    for (String s : f.getDestinationLabelList()) {
      LabelSelector.parse("destination_label", s);
    }
    for (String p : f.getSourcePortList()) {
      port("source_port", p);
    }
    for (String p : f.getDestinationPortList()) {
      port("destination_port", p);
    }
    for (String p : f.getSourcePodList()) {
      namespacedName("source_pod", p);
    }
    for (String p : f.getDestinationPodList()) {
      namespacedName("destination_pod", p);
    }
    for (String p : f.getSourceServiceList()) {
      namespacedName("source_service", p);
    }
    for (String p : f.getDestinationServiceList()) {
      namespacedName("destination_service", p);
    }
    for (String p : f.getNodeNameList()) {
      nodePattern(p);
    }
    for (String p : f.getProtocolList()) {
      if (!List.of("tcp", "udp", "sctp", "icmp", "icmpv4", "icmpv6")
          .contains(p.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "protocol: \"" + p + "\" is not one of tcp, udp, sctp, icmp, icmpv4, icmpv6");
      }
    }
  }

  static boolean matches(FlowFilter ff, Flow f) {
    return (ff.getUuidCount() == 0 || ff.getUuidList().contains(f.getUuid()))
        && ips(ff.getSourceIpList(), f.getIP().getSource())
        && ips(ff.getDestinationIpList(), f.getIP().getDestination())
        && pods(ff.getSourcePodList(), f.getSource())
        && pods(ff.getDestinationPodList(), f.getDestination())
        && services(ff.getSourceServiceList(), f.hasSourceService() ? f.getSourceService() : null)
        && services(
            ff.getDestinationServiceList(),
            f.hasDestinationService() ? f.getDestinationService() : null)
        && labels("source_label", ff.getSourceLabelList(), f.getSource())
        && labels("destination_label", ff.getDestinationLabelList(), f.getDestination())
        && workloads(ff.getSourceWorkloadList(), f.getSource())
        && workloads(ff.getDestinationWorkloadList(), f.getDestination())
        && (ff.getTrafficDirectionCount() == 0
            || ff.getTrafficDirectionList().contains(f.getTrafficDirection()))
        && (ff.getVerdictCount() == 0 || ff.getVerdictList().contains(f.getVerdict()))
        && eventTypes(ff.getEventTypeList(), f)
        && protocols(ff.getProtocolList(), f.getL4())
        && ports(ff.getSourcePortList(), sourcePort(f.getL4()))
        && ports(ff.getDestinationPortList(), destinationPort(f.getL4()))
        && (ff.getReplyCount() == 0
            || (f.hasIsReply() && ff.getReplyList().contains(f.getIsReply().getValue())))
        && (ff.getSourceIdentityCount() == 0
            || ff.getSourceIdentityList().contains(f.getSource().getIdentity()))
        && (ff.getDestinationIdentityCount() == 0
            || ff.getDestinationIdentityList().contains(f.getDestination().getIdentity()))
        && tcpFlags(ff.getTcpFlagsList(), f.getL4())
        && nodes(ff.getNodeNameList(), f.getNodeName())
        && (ff.getIpVersionCount() == 0 || ff.getIpVersionList().contains(f.getIP().getIpVersion()))
        && (ff.getDropReasonDescCount() == 0
            || ff.getDropReasonDescList().contains(f.getDropReasonDesc()))
        && (ff.getEncryptedCount() == 0
            || ff.getEncryptedList().contains(f.getIP().getEncrypted()));
  }

  /**
   * A pod or service filter as Hubble reads one ({@code pkg/hubble/k8s/utils.go}
   * ParseNamespaceName): {@code ns/prefix} is that namespace's pods whose names start so, {@code
   * ns/} the whole namespace, a bare {@code prefix} means namespace {@code default}, and {@code
   * /prefix} any namespace.
   *
   * @return the namespace ("" for any) and the name prefix
   */
  static String[] namespacedName(String field, String v) {
    String[] parts = v.split("/", -1);
    String ns = parts.length > 1 ? parts[0] : parts[0].isEmpty() ? "" : "default";
    String prefix = parts.length > 1 ? parts[1] : parts[0];
    if (ns.isEmpty() && prefix.isEmpty()) {
      throw new IllegalArgumentException(
          field + ": invalid filter, must be [namespace/][<name>], got \"" + v + "\"");
    }
    return new String[] {ns, prefix};
  }

  private static boolean namespaced(List<String> want, String field, String ns, String name) {
    if (want.isEmpty()) {
      return true;
    }
    if (ns.isEmpty() && name.isEmpty()) {
      return false;
    }
    for (String w : want) {
      String[] p = namespacedName(field, w);
      if ((p[0].isEmpty() || p[0].equals(ns)) && name.startsWith(p[1])) {
        return true;
      }
    }
    return false;
  }

  private static boolean services(List<String> want, io.porin.api.hubble.flow.Service s) {
    if (want.isEmpty()) {
      return true;
    }
    return s != null && namespaced(want, "service", s.getNamespace(), s.getName());
  }

  private static boolean ips(List<String> want, String ip) {
    if (want.isEmpty()) {
      return true;
    }
    if (ip.isEmpty()) {
      return false;
    }
    byte[] addr = InetAddress.ofLiteral(ip).getAddress();
    for (String w : want) {
      if (inCidr(w, addr)) {
        return true;
      }
    }
    return false;
  }

  private static boolean inCidr(String cidr, byte[] addr) {
    int slash = cidr.indexOf('/');
    byte[] net = InetAddress.ofLiteral(slash < 0 ? cidr : cidr.substring(0, slash)).getAddress();
    if (net.length != addr.length) {
      return false;
    }
    int bits = slash < 0 ? net.length * 8 : Integer.parseInt(cidr.substring(slash + 1));
    for (int i = 0; i < bits; i++) {
      int mask = 0x80 >> (i % 8);
      if ((net[i / 8] & mask) != (addr[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  private static void cidr(String field, String v) {
    try {
      int slash = v.indexOf('/');
      byte[] a = InetAddress.ofLiteral(slash < 0 ? v : v.substring(0, slash)).getAddress();
      if (slash >= 0) {
        int bits = Integer.parseInt(v.substring(slash + 1));
        if (bits < 0 || bits > a.length * 8) {
          throw new IllegalArgumentException();
        }
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": \"" + v + "\" is not an IP address or CIDR");
    }
  }

  private static boolean pods(List<String> want, Endpoint e) {
    return namespaced(want, "pod", e.getNamespace(), e.getPodName());
  }

  private static boolean labels(String field, List<String> selectors, Endpoint e) {
    if (selectors.isEmpty()) {
      return true;
    }
    for (String s : selectors) {
      if (LabelSelector.parse(field, s).matches(e.getLabelsList())) {
        return true;
      }
    }
    return false;
  }

  private static boolean workloads(List<Workload> want, Endpoint e) {
    if (want.isEmpty()) {
      return true;
    }
    for (Workload w : want) {
      for (Workload have : e.getWorkloadsList()) {
        if ((w.getName().isEmpty() || w.getName().equals(have.getName()))
            && (w.getKind().isEmpty() || w.getKind().equalsIgnoreCase(have.getKind()))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean eventTypes(List<EventTypeFilter> want, Flow f) {
    if (want.isEmpty()) {
      return true;
    }
    for (EventTypeFilter t : want) {
      if (t.getType() == f.getEventType().getType()
          && (!t.getMatchSubType() || t.getSubType() == f.getEventType().getSubType())) {
        return true;
      }
    }
    return false;
  }

  private static boolean protocols(List<String> want, Layer4 l4) {
    if (want.isEmpty()) {
      return true;
    }
    for (String p : want) {
      boolean m =
          switch (p.toLowerCase(Locale.ROOT)) {
            case "tcp" -> l4.hasTCP();
            case "udp" -> l4.hasUDP();
            case "sctp" -> l4.hasSCTP();
            case "icmp" -> l4.hasICMPv4() || l4.hasICMPv6();
            case "icmpv4" -> l4.hasICMPv4();
            case "icmpv6" -> l4.hasICMPv6();
            default -> false;
          };
      if (m) {
        return true;
      }
    }
    return false;
  }

  private static int sourcePort(Layer4 l4) {
    if (l4.hasTCP()) {
      return l4.getTCP().getSourcePort();
    }
    if (l4.hasUDP()) {
      return l4.getUDP().getSourcePort();
    }
    return l4.hasSCTP() ? l4.getSCTP().getSourcePort() : 0;
  }

  private static int destinationPort(Layer4 l4) {
    if (l4.hasTCP()) {
      return l4.getTCP().getDestinationPort();
    }
    if (l4.hasUDP()) {
      return l4.getUDP().getDestinationPort();
    }
    return l4.hasSCTP() ? l4.getSCTP().getDestinationPort() : 0;
  }

  private static boolean ports(List<String> want, int port) {
    if (want.isEmpty()) {
      return true;
    }
    for (String p : want) {
      if (Integer.parseInt(p) == port && port != 0) {
        return true;
      }
    }
    return false;
  }

  private static void port(String field, String p) {
    try {
      int v = Integer.parseInt(p);
      if (v < 0 || v > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(field + ": \"" + p + "\" is not a port");
    }
  }

  private static boolean tcpFlags(List<TCPFlags> want, Layer4 l4) {
    if (want.isEmpty()) {
      return true;
    }
    if (!l4.hasTCP()) {
      return false;
    }
    TCPFlags have = l4.getTCP().getFlags();
    for (TCPFlags w : want) {
      if ((!w.getSYN() || have.getSYN())
          && (!w.getACK() || have.getACK())
          && (!w.getFIN() || have.getFIN())
          && (!w.getRST() || have.getRST())
          && (!w.getPSH() || have.getPSH())
          && (!w.getURG() || have.getURG())
          && (!w.getECE() || have.getECE())
          && (!w.getCWR() || have.getCWR())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Node name patterns as Hubble's ({@code pkg/hubble/filters/nodename.go}, {@code patterns.go}):
   * {@code [cluster/]node}, each part lower-case letters, digits, '-', '_', '.' and '*' (any run of
   * those), an empty part any name; a flow's node without a cluster is in cluster {@code default}.
   */
  private static boolean nodes(List<String> want, String node) {
    if (want.isEmpty()) {
      return true;
    }
    if (node.isEmpty()) {
      return false;
    }
    String qualified = node.indexOf('/') < 0 ? "default/" + node : node;
    for (String w : want) {
      if (nodePattern(w).matcher(qualified).matches()) {
        return true;
      }
    }
    return false;
  }

  private static final String ANY_NAME = "(?:[-0-9_a-z]+(?:\\.[-0-9_a-z]+)*)";
  private static final java.util.Map<String, Pattern> NODE_PATTERNS =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The node name pattern {@code p} compiled (cached: filters repeat, flows are many). */
  static Pattern nodePattern(String p) {
    Pattern cached = NODE_PATTERNS.get(p);
    if (cached != null) {
      return cached;
    }
    if (p.isEmpty()) {
      throw new IllegalArgumentException("node_name: empty pattern");
    }
    String[] parts = p.split("/", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException(
          "node_name: \"" + p + "\": too many slashes in pattern (at most cluster/node)");
    }
    String cluster = parts.length == 2 ? parts[0] : "";
    String nodePart = parts.length == 2 ? parts[1] : parts[0];
    Pattern compiled = Pattern.compile(part(p, cluster) + "/" + part(p, nodePart));
    if (NODE_PATTERNS.size() > 1024) {
      NODE_PATTERNS.clear();
    }
    NODE_PATTERNS.put(p, compiled);
    return compiled;
  }

  private static String part(String pattern, String part) {
    String t = part.strip();
    if (t.endsWith(".")) {
      t = t.substring(0, t.length() - 1);
    }
    if (t.isEmpty()) {
      return ANY_NAME;
    }
    if (t.endsWith(".")) {
      throw new IllegalArgumentException(
          "node_name: \"" + pattern + "\": multiple trailing dots in pattern");
    }
    StringBuilder re = new StringBuilder();
    for (char c : t.toLowerCase(Locale.ROOT).toCharArray()) {
      if (c == '.') {
        re.append("\\.");
      } else if (c == '*') {
        re.append("[-.0-9a-z]*");
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
        re.append(c);
      } else {
        throw new IllegalArgumentException(
            "node_name: \"" + pattern + "\": '" + c + "': invalid rune in pattern");
      }
    }
    return re.toString();
  }

  /**
   * A Kubernetes label selector over an endpoint's labels: comma-separated requirements, all of
   * which must hold: {@code key=value}, {@code key==value}, {@code key!=value}, {@code key}, {@code
   * !key}, {@code key in (a,b)}, {@code key notin (a,b)}. A key with a source ({@code k8s:app})
   * matches that source only; a key without one matches any source.
   */
  record LabelSelector(List<Requirement> requirements) {
    record Requirement(String key, String op, List<String> values) {}

    private static final Pattern SET =
        Pattern.compile("\\s*(!?[^\\s!=]+)\\s+(in|notin)\\s+\\(([^)]*)\\)\\s*");

    static LabelSelector parse(String field, String s) {
      List<Requirement> reqs = new ArrayList<>();
      for (String part : splitTopLevel(s)) {
        String p = part.trim();
        if (p.isEmpty()) {
          throw new IllegalArgumentException(field + ": \"" + s + "\" has an empty requirement");
        }
        var set = SET.matcher(p);
        if (set.matches()) {
          List<String> values = new ArrayList<>();
          for (String v : set.group(3).split(",")) {
            values.add(v.trim());
          }
          reqs.add(new Requirement(set.group(1), set.group(2), values));
        } else if (p.contains("!=")) {
          String[] kv = p.split("!=", 2);
          reqs.add(new Requirement(kv[0].trim(), "!=", List.of(kv[1].trim())));
        } else if (p.contains("==")) {
          String[] kv = p.split("==", 2);
          reqs.add(new Requirement(kv[0].trim(), "=", List.of(kv[1].trim())));
        } else if (p.contains("=")) {
          String[] kv = p.split("=", 2);
          reqs.add(new Requirement(kv[0].trim(), "=", List.of(kv[1].trim())));
        } else if (p.startsWith("!")) {
          reqs.add(new Requirement(p.substring(1).trim(), "!exists", List.of()));
        } else if (p.matches("[^\\s()]+")) {
          reqs.add(new Requirement(p, "exists", List.of()));
        } else {
          throw new IllegalArgumentException(
              field + ": \"" + s + "\" is not a label selector (at \"" + p + "\")");
        }
      }
      return new LabelSelector(reqs);
    }

    private static List<String> splitTopLevel(String s) {
      List<String> parts = new ArrayList<>();
      int depth = 0;
      int start = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '(') {
          depth++;
        } else if (c == ')') {
          depth--;
        } else if (c == ',' && depth == 0) {
          parts.add(s.substring(start, i));
          start = i + 1;
        }
      }
      parts.add(s.substring(start));
      return parts;
    }

    boolean matches(List<String> labels) {
      for (Requirement r : requirements) {
        List<String> values = valuesOf(r.key(), labels);
        boolean ok =
            switch (r.op()) {
              case "=", "in" -> values.stream().anyMatch(r.values()::contains);
              case "!=", "notin" -> values.stream().noneMatch(r.values()::contains);
              case "exists" -> !values.isEmpty();
              case "!exists" -> values.isEmpty();
              default -> false;
            };
        if (!ok) {
          return false;
        }
      }
      return true;
    }

    /** The values a key has among "source:key=value" labels. */
    private static List<String> valuesOf(String key, List<String> labels) {
      boolean withSource = key.contains(":");
      List<String> out = new ArrayList<>();
      for (String l : labels) {
        int eq = l.indexOf('=');
        String k = eq < 0 ? l : l.substring(0, eq);
        String v = eq < 0 ? "" : l.substring(eq + 1);
        String bare = k.contains(":") ? k.substring(k.indexOf(':') + 1) : k;
        if (withSource ? k.equals(key) : bare.equals(key)) {
          out.add(v);
        }
      }
      return out;
    }
  }
}
