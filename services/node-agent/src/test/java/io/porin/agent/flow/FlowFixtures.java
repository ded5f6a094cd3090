package io.porin.agent.flow;

import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.policy.Cookies;
import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.RuleRef;
import io.porin.core.resource.ResourceKind;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A small cluster for flow tests: node-1 with frontend (ID 1) and api (ID 2), db on node-2. */
final class FlowFixtures {
  static final int FRONTEND = 70001;
  static final int API = 70002;
  static final int DB = 70003;
  static final InetAddress FRONTEND_IP = InetAddress.ofLiteral("10.200.0.3");
  static final InetAddress API_IP = InetAddress.ofLiteral("10.200.0.2");
  static final InetAddress DB_IP = InetAddress.ofLiteral("10.200.1.2");
  static final InetAddress WORLD_IP = InetAddress.ofLiteral("172.30.1.1");

  static final PolicyRef FRONTEND_EGRESS =
      new PolicyRef(ResourceKind.CILIUM_NETWORK_POLICY, "demo", "frontend-egress");
  static final PolicyRef DEFAULT_DENY =
      new PolicyRef(ResourceKind.CILIUM_NETWORK_POLICY, "demo", "default-deny");
  static final PolicyRef DENY_DB = new PolicyRef(ResourceKind.NETWORK_POLICY, "demo", "no-db");

  final Cookies cookies = new Cookies();
  final int allowCookie = cookies.ofRules(List.of(new RuleRef(FRONTEND_EGRESS, "egress", 0)));
  final int defaultCookie = cookies.ofDefault(List.of(DEFAULT_DENY, FRONTEND_EGRESS));
  final int denyCookie = cookies.ofRules(List.of(new RuleRef(DENY_DB, "egress", 0)));

  final FlowBuilder.Directory directory =
      new FlowBuilder.Directory() {
        final Map<Integer, FlowBuilder.LocalEndpoint> local =
            Map.of(
                1,
                new FlowBuilder.LocalEndpoint(
                    1, "demo", "frontend", List.of("k8s:app=frontend", "k8s:tier=web"), "lxc1"),
                2,
                new FlowBuilder.LocalEndpoint(
                    2, "demo", "api", List.of("k8s:app=api", "k8s:tier=backend"), "lxc2"));
        final Map<InetAddress, FlowBuilder.RemotePeer> peers =
            Map.of(
                FRONTEND_IP, new FlowBuilder.RemotePeer("demo", "frontend", "node-1", 1),
                API_IP, new FlowBuilder.RemotePeer("demo", "api", "node-1", 2),
                DB_IP, new FlowBuilder.RemotePeer("demo", "db", "node-2", 7));
        final Map<Integer, List<String>> labels =
            new HashMap<>(
                Map.of(
                    FRONTEND,
                    List.of("k8s:app=frontend", "k8s:tier=web"),
                    API,
                    List.of("k8s:app=api", "k8s:tier=backend"),
                    DB,
                    List.of("k8s:app=db", "k8s:tier=data"),
                    2,
                    List.of("reserved:world")));

        @Override
        public Optional<FlowBuilder.LocalEndpoint> local(int id) {
          return Optional.ofNullable(local.get(id));
        }

        @Override
        public Optional<FlowBuilder.RemotePeer> peer(InetAddress a) {
          return Optional.ofNullable(peers.get(a));
        }

        @Override
        public List<String> labels(int identity) {
          return labels.getOrDefault(identity, List.of());
        }

        @Override
        public Optional<Cookies.Attribution> attribution(int cookie) {
          return cookies.resolve(cookie);
        }

        @Override
        public Optional<String> service(int revNat) {
          return revNat == 5 ? Optional.of("demo/api") : Optional.empty();
        }

        @Override
        public Optional<FlowBuilder.SocketClient> socketClient(long netnsCookie) {
          return netnsCookie == FRONTEND_NETNS
              ? Optional.of(
                  new FlowBuilder.SocketClient(local.get(1), FRONTEND, "10.200.0.3", "fd00::3"))
              : Optional.empty();
        }
      };

  /** The frontend pod's network namespace cookie. */
  static final long FRONTEND_NETNS = 0x1_0000_0042L;

  /** The builder, with event time 0 at 2026-11-22T10:23:45Z. */
  final FlowBuilder builder =
      new FlowBuilder(
          "node-1",
          directory,
          java.time.Instant.parse("2026-11-22T10:23:45Z").getEpochSecond() * 1_000_000_000L);

  static DatapathEvent event(
      long nanos,
      int endpoint,
      int src,
      int dst,
      int cookie,
      InetAddress sa,
      InetAddress da,
      int sport,
      int dport,
      int protocol,
      int direction,
      int verdict,
      int reason,
      int tcpFlags,
      boolean reply,
      int match,
      int type) {
    return new DatapathEvent(
        nanos,
        11,
        endpoint,
        src,
        dst,
        cookie,
        3,
        sa,
        da,
        sport,
        dport,
        protocol,
        direction,
        verdict,
        reason,
        tcpFlags,
        reply,
        match,
        type,
        protocol == 1 ? 8 : protocol == 58 ? 128 : 0,
        60,
        0,
        0);
  }

  /** frontend -> api:3000 allowed (egress of frontend, new connection). */
  DatapathEvent allowed(long nanos) {
    return event(
        nanos,
        1,
        FRONTEND,
        API,
        allowCookie,
        FRONTEND_IP,
        API_IP,
        46532,
        3000,
        6,
        MapLayouts.DIR_EGRESS,
        MapLayouts.VERDICT_FORWARDED,
        0,
        0x02,
        false,
        2,
        MapLayouts.EVENT_POLICY_VERDICT);
  }

  /** frontend -> db:5432 denied by default deny (egress of frontend). */
  DatapathEvent defaultDenied(long nanos) {
    return event(
        nanos,
        1,
        FRONTEND,
        DB,
        defaultCookie,
        FRONTEND_IP,
        DB_IP,
        46533,
        5432,
        6,
        MapLayouts.DIR_EGRESS,
        MapLayouts.VERDICT_DROPPED,
        133,
        0x02,
        false,
        0,
        MapLayouts.EVENT_DROP);
  }

  /** api -> db:5432 denied by a deny rule (egress of api), UDP. */
  DatapathEvent explicitlyDenied(long nanos) {
    return event(
        nanos,
        2,
        API,
        DB,
        denyCookie,
        API_IP,
        DB_IP,
        40000,
        5432,
        17,
        MapLayouts.DIR_EGRESS,
        MapLayouts.VERDICT_DROPPED,
        181,
        0,
        false,
        2,
        MapLayouts.EVENT_DROP);
  }

  /** world -> api:3000 audited (ingress of api). */
  DatapathEvent audited(long nanos) {
    return event(
        nanos,
        2,
        2,
        API,
        defaultCookie,
        WORLD_IP,
        API_IP,
        50000,
        3000,
        6,
        MapLayouts.DIR_INGRESS,
        MapLayouts.VERDICT_AUDIT,
        0,
        0x02,
        false,
        0,
        MapLayouts.EVENT_POLICY_VERDICT);
  }

  /** A malformed packet dropped at api's ingress (not a policy decision). */
  DatapathEvent malformed(long nanos) {
    return event(
        nanos,
        2,
        2,
        API,
        0,
        WORLD_IP,
        API_IP,
        0,
        0,
        6,
        MapLayouts.DIR_INGRESS,
        MapLayouts.VERDICT_DROPPED,
        135,
        0,
        false,
        0,
        MapLayouts.EVENT_DROP);
  }
}
