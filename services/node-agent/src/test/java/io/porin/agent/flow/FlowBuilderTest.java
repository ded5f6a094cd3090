package io.porin.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.MapLayouts;
import io.porin.api.hubble.flow.DropReason;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.Policy;
import io.porin.api.hubble.flow.TrafficDirection;
import io.porin.api.hubble.flow.Verdict;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class FlowBuilderTest {
  final FlowFixtures fx = new FlowFixtures();

  @Test
  void anAllowedConnectionNamesBothPodsAndTheAllowingPolicy() {
    Flow f = fx.builder.build(fx.allowed(123_000_000L), 7);
    assertThat(f.getVerdict()).isEqualTo(Verdict.FORWARDED);
    assertThat(f.getTime().getSeconds())
        .isEqualTo(java.time.Instant.parse("2026-11-22T10:23:45Z").getEpochSecond());
    assertThat(f.getTime().getNanos()).isEqualTo(123_000_000);
    assertThat(f.getNodeName()).isEqualTo("node-1");
    assertThat(f.getUuid()).endsWith("-000000000007");
    assertThat(f.getSource().getPodName()).isEqualTo("frontend");
    assertThat(f.getSource().getNamespace()).isEqualTo("demo");
    assertThat(f.getSource().getID()).isEqualTo(1);
    assertThat(f.getSource().getIdentity()).isEqualTo(FlowFixtures.FRONTEND);
    assertThat(f.getSource().getLabelsList()).contains("k8s:app=frontend");
    assertThat(f.getDestination().getPodName()).isEqualTo("api");
    assertThat(f.getDestination().getIdentity()).isEqualTo(FlowFixtures.API);
    assertThat(f.getDestination().getLabelsList()).contains("k8s:app=api");
    assertThat(f.getTrafficDirection()).isEqualTo(TrafficDirection.EGRESS);
    assertThat(f.getL4().getTCP().getDestinationPort()).isEqualTo(3000);
    assertThat(f.getL4().getTCP().getFlags().getSYN()).isTrue();
    assertThat(f.getL4().getTCP().getFlags().getACK()).isFalse();
    assertThat(f.getSummary()).isEqualTo("TCP Flags: SYN");
    assertThat(f.getIsReply().getValue()).isFalse();
    assertThat(f.getEventType().getType()).isEqualTo(5);
    assertThat(f.getPolicyMatchType()).isEqualTo(2);
    assertThat(f.getEgressAllowedByList())
        .extracting(Policy::getNamespace, Policy::getName, Policy::getKind)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("demo", "frontend-egress", "CiliumNetworkPolicy"));
    assertThat(f.getEgressDeniedByList()).isEmpty();
    assertThat(f.getInterface().getName()).isEqualTo("lxc1");
  }

  @Test
  void defaultDenyIsAPolicyVerdictNamingThePoliciesThatTurnedItOn() {
    Flow f = fx.builder.build(fx.defaultDenied(0), 1);
    assertThat(f.getVerdict()).isEqualTo(Verdict.DROPPED);
    assertThat(f.getDropReasonDesc()).isEqualTo(DropReason.POLICY_DENIED);
    assertThat(f.getDropReason()).isEqualTo(133);
    assertThat(f.getEventType().getType()).isEqualTo(5);
    assertThat(f.getDestination().getPodName()).isEqualTo("db");
    assertThat(f.getDestination().getID()).as("a pod on another node has no local ID").isZero();
    assertThat(f.getEgressDeniedByList())
        .extracting(Policy::getName)
        .containsExactly("default-deny", "frontend-egress");
    assertThat(f.getEgressDeniedBy(0).getLabelsList()).contains("reserved:default-deny");
  }

  @Test
  void anExplicitDenyNamesTheDenyingPolicy() {
    Flow f = fx.builder.build(fx.explicitlyDenied(0), 2);
    assertThat(f.getDropReasonDesc()).isEqualTo(DropReason.POLICY_DENY);
    assertThat(f.getEgressDeniedByList())
        .extracting(Policy::getName, Policy::getKind)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("no-db", "NetworkPolicy"));
    assertThat(f.getEgressDeniedBy(0).getLabelsList()).doesNotContain("reserved:default-deny");
    assertThat(f.getL4().getUDP().getDestinationPort()).isEqualTo(5432);
    assertThat(f.getSummary()).isEqualTo("UDP");
  }

  @Test
  void auditIsForwardedButNamesWhatWouldHaveDenied() {
    Flow f = fx.builder.build(fx.audited(0), 3);
    assertThat(f.getVerdict()).isEqualTo(Verdict.AUDIT);
    assertThat(f.getTrafficDirection()).isEqualTo(TrafficDirection.INGRESS);
    assertThat(f.getSource().getLabelsList()).containsExactly("reserved:world");
    assertThat(f.getSource().getPodName()).isEmpty();
    assertThat(f.getDestination().getPodName()).isEqualTo("api");
    assertThat(f.getIngressDeniedByList()).extracting(Policy::getName).contains("default-deny");
  }

  @Test
  void aDropThatIsNotPolicyIsADropEventWithoutAttribution() {
    Flow f = fx.builder.build(fx.malformed(0), 4);
    assertThat(f.getEventType().getType()).isEqualTo(1);
    assertThat(f.getEventType().getSubType()).isEqualTo(135);
    assertThat(f.getDropReasonDesc()).isEqualTo(DropReason.CT_TRUNCATED_OR_INVALID_HEADER);
    assertThat(f.getIngressDeniedByList()).isEmpty();
  }

  @Test
  void ipv6AddressesArePrintedInTheirShortestForm() {
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("fd00:200:1:0:0:0:0:2")))
        .isEqualTo("fd00:200:1::2");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("fe80::1:0:0:0:1")))
        .isEqualTo("fe80:0:0:1::1");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("2001:db8:0:0:1:0:0:1")))
        .isEqualTo("2001:db8::1:0:0:1");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("::"))).isEqualTo("::");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("::1"))).isEqualTo("::1");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("1:2:3:4:5:6:7:8")))
        .isEqualTo("1:2:3:4:5:6:7:8");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("1:0:3:4:5:6:7:8")))
        .isEqualTo("1:0:3:4:5:6:7:8");
    assertThat(FlowBuilder.text(InetAddress.ofLiteral("10.0.0.1"))).isEqualTo("10.0.0.1");
  }

  @Test
  void aConnectionAddressedToAServiceNamesIt() {
    DatapathEvent e = fx.allowed(1000);
    DatapathEvent viaService = copy(e, 5, 0);
    Flow f = fx.builder.build(viaService, 1);
    assertThat(f.getDestinationService().getNamespace()).isEqualTo("demo");
    assertThat(f.getDestinationService().getName()).isEqualTo("api");
    assertThat(fx.builder.build(e, 2).hasDestinationService()).isFalse();
  }

  @Test
  void whatWentThroughWireGuardIsEncrypted() {
    DatapathEvent e = fx.allowed(1000);
    assertThat(fx.builder.build(copy(e, 0, MapLayouts.EVENT_F_ENCRYPTED), 1).getIP().getEncrypted())
        .isTrue();
    assertThat(fx.builder.build(e, 2).getIP().getEncrypted()).isFalse();
  }

  private static DatapathEvent copy(DatapathEvent e, int revNat, int flags) {
    return new DatapathEvent(
        e.timestampNanos(),
        e.ifindex(),
        e.endpointId(),
        e.srcIdentity(),
        e.dstIdentity(),
        e.cookie(),
        e.policyRevision(),
        e.source(),
        e.destination(),
        e.sourcePort(),
        e.destinationPort(),
        e.protocol(),
        e.direction(),
        e.verdict(),
        e.reason(),
        e.tcpFlags(),
        e.reply(),
        e.matchType(),
        e.type(),
        e.icmpType(),
        e.length(),
        revNat,
        flags);
  }

  private static DatapathEvent sock(int verdict, int reason, InetAddress backend, int backendPort) {
    long cookie = FlowFixtures.FRONTEND_NETNS;
    return new DatapathEvent(
        1000,
        (int) cookie,
        (int) (cookie >>> 32),
        0,
        0,
        0,
        0,
        backend,
        InetAddress.ofLiteral("10.96.0.20"),
        backendPort,
        3000,
        6,
        1,
        verdict,
        reason,
        0,
        false,
        0,
        MapLayouts.EVENT_TRACE_SOCK,
        0,
        0,
        5,
        0);
  }

  @Test
  void aSocketTranslationIsASockFlowFromThePodToTheBackendNamingTheService() {
    Flow f = fx.builder.build(sock(MapLayouts.VERDICT_FORWARDED, 0, FlowFixtures.API_IP, 3000), 1);
    assertThat(f.getType()).isEqualTo(io.porin.api.hubble.flow.FlowType.SOCK);
    assertThat(f.getVerdict()).isEqualTo(io.porin.api.hubble.flow.Verdict.TRANSLATED);
    assertThat(f.getSockXlatePoint())
        .isEqualTo(
            io.porin.api.hubble.flow.SocketTranslationPoint.SOCK_XLATE_POINT_POST_DIRECTION_FWD);
    assertThat(f.getIP().getSource()).isEqualTo("10.200.0.3");
    assertThat(f.getSource().getPodName()).isEqualTo("frontend");
    assertThat(f.getIP().getDestination()).isEqualTo("10.200.0.2");
    assertThat(f.getDestination().getPodName()).isEqualTo("api");
    assertThat(f.getL4().getTCP().getDestinationPort()).isEqualTo(3000);
    assertThat(f.getDestinationService().getName()).isEqualTo("api");
    assertThat(f.getSummary()).isEqualTo("translated 10.96.0.20:3000 -> 10.200.0.2:3000");
  }

  @Test
  void aRefusedSocketTranslationIsDroppedWithNoServiceReason() {
    Flow f =
        fx.builder.build(
            sock(
                MapLayouts.VERDICT_DROPPED,
                MapLayouts.DROP_NO_SERVICE,
                InetAddress.ofLiteral("0.0.0.0"),
                0),
            1);
    assertThat(f.getVerdict()).isEqualTo(io.porin.api.hubble.flow.Verdict.DROPPED);
    assertThat(f.getDropReason()).isEqualTo(158);
    assertThat(f.getIP().getDestination()).isEqualTo("10.96.0.20");
    assertThat(f.getSource().getPodName()).isEqualTo("frontend");
  }
}
