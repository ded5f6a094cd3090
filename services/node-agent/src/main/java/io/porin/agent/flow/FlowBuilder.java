package io.porin.agent.flow;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Timestamp;
import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.policy.Cookies;
import io.porin.api.hubble.flow.CiliumEventType;
import io.porin.api.hubble.flow.DropReason;
import io.porin.api.hubble.flow.Endpoint;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.FlowType;
import io.porin.api.hubble.flow.ICMPv4;
import io.porin.api.hubble.flow.ICMPv6;
import io.porin.api.hubble.flow.IP;
import io.porin.api.hubble.flow.IPVersion;
import io.porin.api.hubble.flow.Layer4;
import io.porin.api.hubble.flow.NetworkInterface;
import io.porin.api.hubble.flow.Policy;
import io.porin.api.hubble.flow.SCTP;
import io.porin.api.hubble.flow.TCP;
import io.porin.api.hubble.flow.TCPFlags;
import io.porin.api.hubble.flow.TrafficDirection;
import io.porin.api.hubble.flow.UDP;
import io.porin.api.hubble.flow.Verdict;
import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.RuleRef;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Turns a datapath event into a Hubble flow: verdict and drop reason, addresses and ports, both
 * endpoints (identity, namespace, pod, labels) whether local or on another node, direction, reply,
 * and the policies that allowed or denied it — the rules behind the map entry's cookie, or, when
 * default deny decided, the policies that turned it on.
 */
public final class FlowBuilder {
  /** What the builder needs to know about the cluster (snapshots; cheap to call per flow). */
  public interface Directory {
    /** A local endpoint by its ID. */
    Optional<LocalEndpoint> local(int endpointId);

    /** A pod or node anywhere in the cluster by address. */
    Optional<RemotePeer> peer(InetAddress address);

    /** The labels of an identity. */
    List<String> labels(int identity);

    /** What a rule cookie stands for. */
    Optional<Cookies.Attribution> attribution(int cookie);

    /** The service ("namespace/name") of a frontend number. */
    default Optional<String> service(int revNat) {
      return Optional.empty();
    }

    /** The local endpoint whose network namespace has this cookie (socket events). */
    default Optional<SocketClient> socketClient(long netnsCookie) {
      return Optional.empty();
    }
  }

  /** A local endpoint as a socket event's client: the endpoint, its identity and addresses. */
  public record SocketClient(LocalEndpoint endpoint, int identity, String ipv4, String ipv6) {}

  /** A local endpoint, as the flow names it. */
  public record LocalEndpoint(
      int id, String namespace, String pod, List<String> labels, String hostInterface) {}

  /** A pod (or node) the cluster knows by address. */
  public record RemotePeer(
      String namespace, String pod, String node, int endpointId, int identity) {
    public RemotePeer(String namespace, String pod, String node, int endpointId) {
      this(namespace, pod, node, endpointId, 0);
    }
  }

  static final int TCP_FIN = 0x01;
  static final int TCP_SYN = 0x02;
  static final int TCP_RST = 0x04;
  static final int TCP_PSH = 0x08;
  static final int TCP_ACK = 0x10;
  static final int TCP_URG = 0x20;
  static final int TCP_ECE = 0x40;
  static final int TCP_CWR = 0x80;

  private final String node;
  private final Directory directory;
  private final long nodeBits;
  private final long wallMinusMonotonicNanos;

  public FlowBuilder(String node, Directory directory) {
    this(node, directory, System.currentTimeMillis() * 1_000_000L - System.nanoTime());
  }

  /**
   * @param wallMinusMonotonicNanos wall-clock time minus CLOCK_MONOTONIC (what bpf_ktime_get_ns and
   *     System.nanoTime read on Linux), to turn event timestamps into times
   */
  public FlowBuilder(String node, Directory directory, long wallMinusMonotonicNanos) {
    this.node = node;
    this.directory = directory;
    this.nodeBits = UUID.nameUUIDFromBytes(node.getBytes()).getMostSignificantBits();
    this.wallMinusMonotonicNanos = wallMinusMonotonicNanos;
  }

  public Flow build(DatapathEvent e, long sequence) {
    if (e.traceSock()) {
      return buildSock(e, sequence);
    }
    long wall = e.timestampNanos() + wallMinusMonotonicNanos;
    Flow.Builder f =
        Flow.newBuilder()
            .setTime(
                Timestamp.newBuilder()
                    .setSeconds(Math.floorDiv(wall, 1_000_000_000L))
                    .setNanos((int) Math.floorMod(wall, 1_000_000_000L)))
            .setUuid(new UUID(nodeBits, sequence).toString())
            .setNodeName(node)
            .setType(FlowType.L3_L4)
            .setIsReply(BoolValue.of(e.reply()))
            .setReply(e.reply())
            .setPolicyMatchType(e.matchType());
    Verdict verdict =
        switch (e.verdict()) {
          case MapLayouts.VERDICT_FORWARDED -> Verdict.FORWARDED;
          case MapLayouts.VERDICT_DROPPED -> Verdict.DROPPED;
          case MapLayouts.VERDICT_AUDIT -> Verdict.AUDIT;
          default -> Verdict.VERDICT_UNKNOWN;
        };
    f.setVerdict(verdict);
    if (verdict == Verdict.DROPPED) {
      f.setDropReason(e.reason());
      DropReason r = DropReason.forNumber(e.reason());
      f.setDropReasonDesc(r == null ? DropReason.DROP_REASON_UNKNOWN : r);
    }
    // A drop by policy is a policy verdict (Cilium sends a policy-verdict notification for it,
    // besides the drop): one flow, typed as the decision it records.
    boolean policyDrop =
        e.reason() == MapLayouts.DROP_POLICY || e.reason() == MapLayouts.DROP_POLICY_DENY;
    int type = policyDrop ? MapLayouts.EVENT_POLICY_VERDICT : e.type();
    f.setEventType(
        CiliumEventType.newBuilder()
            .setType(type)
            .setSubType(type == MapLayouts.EVENT_DROP ? e.reason() : 0));
    boolean ingress = e.direction() == MapLayouts.DIR_INGRESS;
    f.setTrafficDirection(ingress ? TrafficDirection.INGRESS : TrafficDirection.EGRESS);
    boolean v6 = e.source() instanceof Inet6Address;
    f.setIP(
        IP.newBuilder()
            .setSource(cachedText(e.source()))
            .setDestination(cachedText(e.destination()))
            .setIpVersion(v6 ? IPVersion.IPv6 : IPVersion.IPv4)
            .setEncrypted(e.encrypted()));
    f.setL4(l4(e));
    f.setSummary(summary(e));

    long now = e.timestampNanos();
    LocalEndpoint l = local(e.endpointId(), now);
    if (l != null) {
      f.setInterface(
          NetworkInterface.newBuilder().setIndex(e.ifindex()).setName(l.hostInterface()));
    }
    Endpoint localEp =
        localEndpoint(e.endpointId(), ingress ? e.dstIdentity() : e.srcIdentity(), now);
    Endpoint peerEp =
        peerEndpoint(
            ingress ? e.source() : e.destination(),
            ingress ? e.srcIdentity() : e.dstIdentity(),
            now);
    if (ingress) {
      f.setSource(peerEp).setDestination(localEp);
    } else {
      f.setSource(localEp).setDestination(peerEp);
    }
    attribute(f, e, verdict, ingress);
    if (e.revNat() != 0 && !e.reply()) {
      service(e.revNat()).ifPresent(f::setDestinationService);
    }
    return f.build();
  }

  private Optional<io.porin.api.hubble.flow.Service> service(int revNat) {
    return directory
        .service(revNat)
        .map(
            s -> {
              int slash = s.indexOf('/');
              return io.porin.api.hubble.flow.Service.newBuilder()
                  .setNamespace(s.substring(0, slash))
                  .setName(s.substring(slash + 1))
                  .build();
            });
  }

  /**
   * A socket's service translation (Cilium's trace sock, Hubble's SOCK flows): the client pod (by
   * its network namespace), the backend it was given, the service; TRANSLATED, or DROPPED (reason
   * 158) when the service had no backend.
   */
  private Flow buildSock(DatapathEvent e, long sequence) {
    long wall = e.timestampNanos() + wallMinusMonotonicNanos;
    boolean refused = e.verdict() == MapLayouts.VERDICT_DROPPED;
    Flow.Builder f =
        Flow.newBuilder()
            .setTime(
                Timestamp.newBuilder()
                    .setSeconds(Math.floorDiv(wall, 1_000_000_000L))
                    .setNanos((int) Math.floorMod(wall, 1_000_000_000L)))
            .setUuid(new UUID(nodeBits, sequence).toString())
            .setNodeName(node)
            .setType(FlowType.SOCK)
            .setIsReply(BoolValue.of(false))
            .setVerdict(refused ? Verdict.DROPPED : Verdict.TRANSLATED)
            .setTrafficDirection(TrafficDirection.EGRESS)
            .setSockXlatePoint(
                refused
                    ? io.porin.api.hubble.flow.SocketTranslationPoint
                        .SOCK_XLATE_POINT_PRE_DIRECTION_FWD
                    : io.porin.api.hubble.flow.SocketTranslationPoint
                        .SOCK_XLATE_POINT_POST_DIRECTION_FWD)
            .setEventType(
                CiliumEventType.newBuilder().setType(MapLayouts.EVENT_TRACE_SOCK).setSubType(0));
    if (refused) {
      f.setDropReason(e.reason());
      DropReason r = DropReason.forNumber(e.reason());
      f.setDropReasonDesc(r == null ? DropReason.DROP_REASON_UNKNOWN : r);
    }
    boolean v6 = e.destination() instanceof Inet6Address;
    Optional<SocketClient> client = directory.socketClient(e.netnsCookie());
    String clientIp = client.map(c -> v6 ? c.ipv6() : c.ipv4()).filter(ip -> ip != null).orElse("");
    // the destination: the backend given (the service's own address when refused)
    InetAddress dst = refused ? e.destination() : e.source();
    int dport = refused ? e.destinationPort() : e.sourcePort();
    f.setIP(
        IP.newBuilder()
            .setSource(clientIp)
            .setDestination(cachedText(dst))
            .setIpVersion(v6 ? IPVersion.IPv6 : IPVersion.IPv4));
    if (e.protocol() == 6) {
      f.setL4(Layer4.newBuilder().setTCP(TCP.newBuilder().setDestinationPort(dport)));
    } else {
      f.setL4(Layer4.newBuilder().setUDP(UDP.newBuilder().setDestinationPort(dport)));
    }
    long now = e.timestampNanos();
    client.ifPresent(c -> f.setSource(localEndpoint(c.endpoint().id(), c.identity(), now)));
    if (!refused) {
      int identity = directory.peer(dst).map(RemotePeer::identity).orElse(0);
      f.setDestination(peerEndpoint(dst, identity, now));
    }
    service(e.revNat()).ifPresent(f::setDestinationService);
    f.setSummary(
        (refused ? "refused: no backend for " : "translated ")
            + text(e.destination())
            + ":"
            + e.destinationPort()
            + (refused ? "" : " -> " + text(dst) + ":" + dport));
    return f.build();
  }

  // Enrichment caches (the one drain thread uses them). Endpoints are built once and reused as
  // immutable messages; what the directory says about an address or an endpoint is taken again
  // after a second (event time), so a pod that went and an address that was reused show right.
  private static final long FRESH_NANOS = 1_000_000_000L;
  private static final int MAX_CACHED = 65_536;
  private final Map<Integer, List<Policy>> policiesByCookie = new HashMap<>();
  private final Map<Long, Cached<Endpoint>> localEndpoints = new HashMap<>();
  private final Map<PeerKey, Cached<Endpoint>> peerEndpoints = new HashMap<>();
  private final Map<Integer, Cached<LocalEndpoint>> locals = new HashMap<>();
  private final Map<InetAddress, String> texts = new HashMap<>();

  private record Cached<T>(T value, long at) {}

  private record PeerKey(InetAddress address, int identity) {}

  private static <K, V> V fresh(
      Map<K, Cached<V>> cache, K key, long now, java.util.function.Supplier<V> load) {
    Cached<V> c = cache.get(key);
    if (c != null && now - c.at() < FRESH_NANOS && now >= c.at()) {
      return c.value();
    }
    if (cache.size() >= MAX_CACHED) {
      cache.clear();
    }
    V v = load.get();
    cache.put(key, new Cached<>(v, now));
    return v;
  }

  private LocalEndpoint local(int endpointId, long now) {
    return fresh(locals, endpointId, now, () -> directory.local(endpointId).orElse(null));
  }

  private Endpoint localEndpoint(int endpointId, int identity, long now) {
    return fresh(
        localEndpoints,
        ((long) endpointId << 32) | (identity & 0xFFFFFFFFL),
        now,
        () -> {
          Endpoint.Builder b = Endpoint.newBuilder().setIdentity(identity);
          LocalEndpoint l = local(endpointId, now);
          if (l != null) {
            b.setID(l.id())
                .setNamespace(l.namespace())
                .setPodName(l.pod())
                .addAllLabels(l.labels());
          }
          return withCluster(b).build();
        });
  }

  private Endpoint peerEndpoint(InetAddress address, int identity, long now) {
    return fresh(
        peerEndpoints,
        new PeerKey(address, identity),
        now,
        () -> {
          Endpoint.Builder b = Endpoint.newBuilder().setIdentity(identity);
          directory
              .peer(address)
              .ifPresent(
                  p -> {
                    if (!p.pod().isEmpty()) {
                      b.setNamespace(p.namespace()).setPodName(p.pod());
                      if (p.node().equals(node)) {
                        b.setID(p.endpointId());
                      }
                    }
                  });
          return withCluster(b.addAllLabels(directory.labels(identity))).build();
        });
  }

  private static final String CLUSTER_LABEL = "k8s:io.cilium.k8s.policy.cluster=";

  /** The endpoint's cluster, as its identity's labels name it (empty for world, host, ...). */
  private static Endpoint.Builder withCluster(Endpoint.Builder b) {
    for (String l : b.getLabelsList()) {
      if (l.startsWith(CLUSTER_LABEL)) {
        return b.setClusterName(l.substring(CLUSTER_LABEL.length()));
      }
    }
    return b;
  }

  private String cachedText(InetAddress a) {
    String t = texts.get(a);
    if (t == null) {
      if (texts.size() >= MAX_CACHED) {
        texts.clear();
      }
      t = text(a);
      texts.put(a, t);
    }
    return t;
  }

  private void attribute(Flow.Builder f, DatapathEvent e, Verdict verdict, boolean ingress) {
    if (e.cookie() == 0) {
      return;
    }
    List<Policy> policies = policiesByCookie.get(e.cookie());
    if (policies == null) {
      Optional<Cookies.Attribution> a = directory.attribution(e.cookie());
      if (a.isEmpty()) {
        return;
      }
      // A cookie names the same attribution for the agent's lifetime: cached for good.
      policies = policies(a.get());
      policiesByCookie.put(e.cookie(), policies);
    }
    boolean denied = verdict == Verdict.DROPPED || verdict == Verdict.AUDIT;
    if (verdict == Verdict.DROPPED
        && e.reason() != MapLayouts.DROP_POLICY
        && e.reason() != MapLayouts.DROP_POLICY_DENY) {
      return; // not a policy drop: nothing to attribute
    }
    if (denied) {
      if (ingress) {
        f.addAllIngressDeniedBy(policies);
      } else {
        f.addAllEgressDeniedBy(policies);
      }
    } else if (ingress) {
      f.addAllIngressAllowedBy(policies);
    } else {
      f.addAllEgressAllowedBy(policies);
    }
  }

  /** The policies behind an attribution, each once, with Cilium's derived labels. */
  static List<Policy> policies(Cookies.Attribution a) {
    Set<PolicyRef> refs = new LinkedHashSet<>();
    if (a.byDefault()) {
      refs.addAll(a.defaultDenyBy());
    } else {
      for (RuleRef r : a.rules()) {
        refs.add(r.policy());
      }
    }
    List<Policy> out = new ArrayList<>(refs.size());
    for (PolicyRef p : refs) {
      String kind = p.kind().kind();
      Policy.Builder b =
          Policy.newBuilder().setName(p.name()).setNamespace(p.namespace()).setKind(kind);
      b.addLabels("k8s:io.cilium.k8s.policy.derived-from=" + kind);
      b.addLabels("k8s:io.cilium.k8s.policy.name=" + p.name());
      if (!p.namespace().isEmpty()) {
        b.addLabels("k8s:io.cilium.k8s.policy.namespace=" + p.namespace());
      }
      if (a.byDefault()) {
        b.addLabels("reserved:default-deny");
      }
      out.add(b.build());
    }
    return out;
  }

  private static Layer4 l4(DatapathEvent e) {
    return switch (e.protocol()) {
      case 6 ->
          Layer4.newBuilder()
              .setTCP(
                  TCP.newBuilder()
                      .setSourcePort(e.sourcePort())
                      .setDestinationPort(e.destinationPort())
                      .setFlags(flags(e.tcpFlags())))
              .build();
      case 17 ->
          Layer4.newBuilder()
              .setUDP(
                  UDP.newBuilder()
                      .setSourcePort(e.sourcePort())
                      .setDestinationPort(e.destinationPort()))
              .build();
      case 132 ->
          Layer4.newBuilder()
              .setSCTP(
                  SCTP.newBuilder()
                      .setSourcePort(e.sourcePort())
                      .setDestinationPort(e.destinationPort()))
              .build();
      case 1 -> Layer4.newBuilder().setICMPv4(ICMPv4.newBuilder().setType(e.icmpType())).build();
      case 58 -> Layer4.newBuilder().setICMPv6(ICMPv6.newBuilder().setType(e.icmpType())).build();
      default -> Layer4.getDefaultInstance();
    };
  }

  static TCPFlags flags(int f) {
    return TCPFlags.newBuilder()
        .setFIN((f & TCP_FIN) != 0)
        .setSYN((f & TCP_SYN) != 0)
        .setRST((f & TCP_RST) != 0)
        .setPSH((f & TCP_PSH) != 0)
        .setACK((f & TCP_ACK) != 0)
        .setURG((f & TCP_URG) != 0)
        .setECE((f & TCP_ECE) != 0)
        .setCWR((f & TCP_CWR) != 0)
        .build();
  }

  /** Hubble's summary: "TCP Flags: SYN, ACK", "UDP", "ICMPv4 EchoRequest". */
  static String summary(DatapathEvent e) {
    return switch (e.protocol()) {
      case 6 -> {
        List<String> names = new ArrayList<>();
        String[] all = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
        // Hubble's order: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR
        int[] order = {1, 0, 2, 3, 4, 5, 6, 7};
        for (int i : order) {
          if ((e.tcpFlags() & (1 << i)) != 0) {
            names.add(all[i]);
          }
        }
        yield names.isEmpty() ? "TCP" : "TCP Flags: " + String.join(", ", names);
      }
      case 17 -> "UDP";
      case 132 -> "SCTP";
      case 1 -> "ICMPv4 " + icmp4(e.icmpType());
      case 58 -> "ICMPv6 " + icmp6(e.icmpType());
      default -> "IP protocol " + e.protocol();
    };
  }

  private static String icmp4(int type) {
    return switch (type) {
      case 0 -> "EchoReply";
      case 3 -> "DestinationUnreachable";
      case 8 -> "EchoRequest";
      case 11 -> "TimeExceeded";
      default -> "type " + type;
    };
  }

  private static String icmp6(int type) {
    return switch (type) {
      case 1 -> "DestinationUnreachable";
      case 3 -> "TimeExceeded";
      case 128 -> "EchoRequest";
      case 129 -> "EchoReply";
      default -> "type " + type;
    };
  }

  /** An address as text; IPv6 in its shortest form (RFC 5952), as Go and Hubble print it. */
  public static String text(InetAddress a) {
    if (!(a instanceof Inet6Address)) {
      return a.getHostAddress();
    }
    byte[] b = a.getAddress();
    int[] w = new int[8];
    for (int i = 0; i < 8; i++) {
      w[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < 8; ) {
      if (w[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && w[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        s.append("::");
        i += bestLen - 1;
        continue;
      }
      if (s.length() > 0 && s.charAt(s.length() - 1) != ':') {
        s.append(':');
      }
      s.append(Integer.toHexString(w[i]));
    }
    return s.toString();
  }
}
