package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.DIR_EGRESS;
import static io.porin.agent.bpf.MapLayouts.DIR_INGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_EGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_INGRESS;
import static io.porin.agent.bpf.MapLayouts.POLICY_ALLOW;
import static io.porin.agent.bpf.MapLayouts.POLICY_AUDIT;
import static io.porin.agent.bpf.MapLayouts.POLICY_DENY;
import static io.porin.agent.bpf.PacketFixture.OK;
import static io.porin.agent.bpf.PacketFixture.REDIRECT;
import static io.porin.agent.bpf.PacketFixture.SHOT;
import static io.porin.agent.bpf.PacketFixture.entry;
import static io.porin.agent.bpf.PacketFixture.ip;
import static io.porin.agent.bpf.Packets.ACK;
import static io.porin.agent.bpf.Packets.FIN;
import static io.porin.agent.bpf.Packets.ICMP;
import static io.porin.agent.bpf.Packets.ICMPV6;
import static io.porin.agent.bpf.Packets.SYN;
import static io.porin.agent.bpf.Packets.TCP;
import static io.porin.agent.bpf.Packets.UDP;
import static io.porin.agent.bpf.Packets.icmp;
import static io.porin.agent.bpf.Packets.ipv4;
import static io.porin.agent.bpf.Packets.ipv6;
import static io.porin.agent.bpf.Packets.tcp;
import static io.porin.agent.bpf.Packets.udp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyMapOverflowException;
import io.porin.agent.datapath.PolicyValue;
import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.CidrClass;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The datapath's policy semantics on crafted packets, run in the kernel with BPF_PROG_TEST_RUN
 * (root): verdicts, lookup order, conntrack, fragments, the fast path, and a differential against
 * core's reference decision. What a pod that crafts packets may not do is {@link
 * DatapathHardeningIT}.
 */
@Tag("privileged")
class DatapathPacketIT {
  private static final int POD = 2000;
  private static final int CLIENT = 1000;
  private static final int OTHER = 3000;
  private static final String POD_IP = "10.0.0.2";
  private static final String CLIENT_IP = "10.0.0.1";

  private static PacketFixture f;
  private PacketFixture.Ep pod;
  private static int sport = 30000;

  @BeforeAll
  static void load() throws Exception {
    f = new PacketFixture("packets");
  }

  @AfterAll
  static void unload() throws Exception {
    f.close();
  }

  @BeforeEach
  void endpoint() {
    pod = f.endpoint(7, POD, POD_IP, "fd00::2", PacketFixture.IFINDEX);
    f.ipcache(CLIENT_IP + "/32", CLIENT);
    f.ipcache("10.0.1.0/24", OTHER);
    f.ipcache("fd00::1/128", CLIENT);
    f.events();
  }

  @AfterEach
  void clean() {
    f.reset();
  }

  private DatapathEvent onlyEvent() {
    List<DatapathEvent> e = f.events();
    assertThat(e).hasSize(1);
    return e.get(0);
  }

  private static byte[] syn(String src, String dst, int sp, int dp) {
    return ipv4(src, dst, TCP, tcp(sp, dp, SYN));
  }

  private int send(byte[] frame) {
    return f.send(pod, frame);
  }

  // ---- verdicts

  @Test
  void allowedConnectionForwardsWithOneEventCarryingTheCookie() {
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40000, 80))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_FORWARDED);
    assertThat(e.type()).isEqualTo(MapLayouts.EVENT_POLICY_VERDICT);
    assertThat(e.cookie()).isEqualTo(11);
    assertThat(e.srcIdentity()).isEqualTo(CLIENT);
    assertThat(e.dstIdentity()).isEqualTo(POD);
    assertThat(e.direction()).isEqualTo(DIR_INGRESS);
    assertThat(e.destinationPort()).isEqualTo(80);
    assertThat(e.matchType()).isEqualTo(2); // L3-L4
    // the rest of the connection: forwarded, no further event
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40000, 80, ACK)))).isEqualTo(OK);
    assertThat(f.events()).isEmpty();
  }

  @Test
  void noMatchingRuleIsDefaultDenyWithReason133AndTheDefaultCookie() {
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40001, 81))).isEqualTo(SHOT);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_DROPPED);
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(e.cookie()).isEqualTo(900 + pod.id);
    // an unknown source is the world of its family
    assertThat(f.toPod(syn("192.0.2.9", POD_IP, 40002, 80))).isEqualTo(SHOT);
    assertThat(onlyEvent().srcIdentity()).isEqualTo(MapLayouts.IDENTITY_WORLD_IPV4);
  }

  @Test
  void denyBeatsAllowWithReason181() {
    pod.policy(
        entry(CLIENT, DIR_INGRESS, 0, 0, 0, POLICY_ALLOW, 11),
        entry(0, DIR_INGRESS, TCP, 80, 24, POLICY_DENY, 12));
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40003, 80))).isEqualTo(SHOT);
    DatapathEvent e = onlyEvent();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY_DENY);
    assertThat(e.cookie()).isEqualTo(12);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40004, 81))).isEqualTo(OK);
  }

  @Test
  void lookupOrderExactThenPortWildcardThenIdentityWildcard() {
    pod.policy(
        entry(CLIENT, DIR_INGRESS, TCP, 0, 8, POLICY_ALLOW, 21), // client: any TCP port
        entry(0, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 22), // anyone: 443
        entry(CLIENT, DIR_INGRESS, TCP, 22, 24, POLICY_AUDIT, 23)); // client on 22: audit
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40010, 5432))).isEqualTo(OK);
    assertThat(onlyEvent().cookie()).isEqualTo(21);
    assertThat(f.toPod(syn("10.0.1.7", POD_IP, 40011, 443))).isEqualTo(OK);
    DatapathEvent l4only = onlyEvent();
    assertThat(l4only.cookie()).isEqualTo(22);
    assertThat(l4only.matchType()).isEqualTo(3); // L4-only
    assertThat(f.toPod(syn("10.0.1.7", POD_IP, 40012, 5432))).isEqualTo(SHOT);
    f.events();
    // the stronger verdict wins across lookups: audit (exact) over allow (wildcards)
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40013, 22))).isEqualTo(OK);
    DatapathEvent audit = onlyEvent();
    assertThat(audit.verdict()).isEqualTo(MapLayouts.VERDICT_AUDIT);
    assertThat(audit.cookie()).isEqualTo(23);
  }

  @Test
  void portRangesAreLpmPrefixes() {
    // 8000-8007 = 8000/3 bits wildcarded = prefix 8 + 13
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 8000, 21, POLICY_ALLOW, 31));
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40020, 8000))).isEqualTo(OK);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40021, 8007))).isEqualTo(OK);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40022, 8008))).isEqualTo(SHOT);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40023, 7999))).isEqualTo(SHOT);
    // UDP on the same port is another protocol
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, udp(40024, 8000)))).isEqualTo(SHOT);
  }

  @Test
  void repliesOfAllowedConnectionsPassThroughConntrack() {
    pod.policy(entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 41));
    // the pod connects out: allowed by its egress policy
    assertThat(send(syn(POD_IP, CLIENT_IP, 40030, 80))).isEqualTo(OK);
    // the reply comes in although nothing allows ingress
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40030, SYN | ACK)))).isEqualTo(OK);
    // a new connection from the same peer is not a reply
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 80, 40031))).isEqualTo(SHOT);
    assertThat(f.dp.connections(pod.id)).hasSize(1);
  }

  @Test
  void establishedConnectionsAreCutWhenPolicyRemovesTheirAllow() {
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40040, 80))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40040, 80, ACK)))).isEqualTo(OK);
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 11));
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40040, 80, ACK)))).isEqualTo(SHOT);
    // and a connection still allowed under the new policy keeps going
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40041, 443))).isEqualTo(OK);
    pod.policy(
        entry(CLIENT, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 11),
        entry(CLIENT, DIR_INGRESS, TCP, 8443, 24, POLICY_ALLOW, 11));
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40041, 443, ACK)))).isEqualTo(OK);
  }

  @Test
  void closedTcpConnectionsAreNotReopenedByStrayPackets() {
    pod.policy(entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 41));
    assertThat(send(syn(POD_IP, CLIENT_IP, 40050, 80))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40050, SYN | ACK)))).isEqualTo(OK);
    assertThat(send(ipv4(POD_IP, CLIENT_IP, TCP, tcp(40050, 80, FIN | ACK)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40050, FIN | ACK)))).isEqualTo(OK);
    // a new SYN on the closed tuple is decided again (and still allowed)
    assertThat(send(syn(POD_IP, CLIENT_IP, 40050, 80))).isEqualTo(OK);
    assertThat(f.events()).hasSize(2);
  }

  @Test
  void laterFragmentsMeetTheVerdictOfTheirFirstFragment() {
    pod.policy(entry(CLIENT, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 51));
    // allowed datagram: first fragment (MF, offset 0), then later ones (offset 185*8)
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 0x2000, 77, udp(40060, 53)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 0x2000 | 185, 77, new byte[16]))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 370, 77, new byte[16]))).isEqualTo(OK);
    // denied datagram: its later fragment cannot slip through either
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 0x2000, 78, udp(40061, 54)))).isEqualTo(SHOT);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 185, 78, new byte[16]))).isEqualTo(SHOT);
    f.events();
    // a later fragment whose first fragment was never seen
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, UDP, 185, 79, new byte[16]))).isEqualTo(SHOT);
    assertThat(onlyEvent().reason()).isEqualTo(MapLayouts.DROP_FRAG_NOT_FOUND);
  }

  @Test
  void ipv6WithExtensionHeaders() {
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 61));
    assertThat(f.toPod(ipv6("fd00::1", "fd00::2", TCP, true, tcp(40070, 80, SYN)))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.source()).isEqualTo(PacketFixture.addr("fd00::1"));
    assertThat(e.srcIdentity()).isEqualTo(CLIENT);
    assertThat(f.toPod(ipv6("fd00::1", "fd00::2", TCP, false, tcp(40071, 81, SYN))))
        .isEqualTo(SHOT);
  }

  @Test
  void icmpIsKeyedByTypeAndEchoRepliesAreTracked() {
    pod.policy(
        entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 71),
        entry(CLIENT, DIR_EGRESS, ICMP, 8, 24, POLICY_ALLOW, 72));
    assertThat(send(ipv4(POD_IP, CLIENT_IP, ICMP, icmp(8, 99)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, ICMP, icmp(0, 99)))).isEqualTo(OK);
    // an echo request the other way is not allowed by anything
    assertThat(f.toPod(ipv4(CLIENT_IP, POD_IP, ICMP, icmp(8, 100)))).isEqualTo(SHOT);
    // ICMP timestamp (13) is not allowed
    assertThat(send(ipv4(POD_IP, CLIENT_IP, ICMP, icmp(13, 5)))).isEqualTo(SHOT);
    // IPv6 echo: the same
    pod.policy(entry(CLIENT, DIR_EGRESS, ICMPV6, 128, 24, POLICY_ALLOW, 73));
    assertThat(send(ipv6("fd00::2", "fd00::1", ICMPV6, false, icmp(128, 5)))).isEqualTo(OK);
    assertThat(f.toPod(ipv6("fd00::1", "fd00::2", ICMPV6, false, icmp(129, 5)))).isEqualTo(OK);
    assertThat(f.toPod(ipv6("fd00::1", "fd00::2", ICMPV6, false, icmp(129, 6)))).isEqualTo(SHOT);
  }

  @Test
  void unenforcedDirectionsForwardAndStillReportNewConnections() {
    pod.enforce(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW);
    assertThat(send(syn(POD_IP, "192.0.2.1", 40080, 443))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_FORWARDED);
    assertThat(e.dstIdentity()).isEqualTo(MapLayouts.IDENTITY_WORLD_IPV4);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40081, 80))).isEqualTo(SHOT);
  }

  @Test
  void auditModeForwardsWhatDefaultDenyWouldDrop() {
    pod.enforce(EP_ENFORCE_INGRESS | EP_ENFORCE_EGRESS, POLICY_AUDIT, POLICY_AUDIT);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40090, 80))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_AUDIT);
    assertThat(e.cookie()).isEqualTo(900 + pod.id);
  }

  @Test
  void trafficOfAnUnknownEndpointIsDropped() {
    f.dp.deleteEndpoint(PacketFixture.IFINDEX);
    long before = f.counter(MapLayouts.DROP_EP_NOT_READY, DIR_INGRESS);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40100, 80))).isEqualTo(SHOT);
    assertThat(onlyEvent().reason()).isEqualTo(MapLayouts.DROP_EP_NOT_READY);
    assertThat(f.counter(MapLayouts.DROP_EP_NOT_READY, DIR_INGRESS)).isEqualTo(before + 1);
    // ARP too: nothing passes an interface the agent does not know
    assertThat(f.toPod(Packets.arp(Packets.HOST_MAC, "10.0.0.1", POD_IP))).isEqualTo(SHOT);
  }

  @Test
  void aPolicyThatDoesNotFitIsRefusedWholeAndTheSlotKeepsItsContents() {
    pod.policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    Map<PolicyKey, PolicyValue> tooMany = new HashMap<>();
    for (int i = 0; tooMany.size() <= MapLayouts.POLICY_MAX; i++) {
      tooMany.put(
          new PolicyKey(100_000 + i, DIR_INGRESS, TCP, 80, 24), new PolicyValue(POLICY_ALLOW, 1));
    }
    assertThatThrownBy(
            () ->
                f.dp.writePolicy(pod.id, pod.slot, new PolicyContent(tooMany, Map.of(), Map.of())))
        .isInstanceOf(PolicyMapOverflowException.class)
        .hasMessageContaining("needs " + (MapLayouts.POLICY_MAX + 1));
    assertThat(f.dp.readPolicy(pod.id, pod.slot)).hasSize(1);
    assertThat(f.toPod(syn(CLIENT_IP, POD_IP, 40300, 80))).isEqualTo(OK);
  }

  @Test
  void sameNodeTrafficMeetsBothEndpointsPoliciesAndIsRedirectedIntoTheDestination() {
    PacketFixture.Ep peer = f.endpoint(8, CLIENT, CLIENT_IP, null, 4242);
    pod.enforce(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW); // the sender: egress not enforced
    peer.enforce(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW);
    peer.policy(entry(POD, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 81));
    f.events();
    TestRun.Result allowed =
        TestRun.run(
            f.dp.programFd(LinuxDatapath.PROGRAM_FROM_POD),
            Packets.fromPod(syn(POD_IP, CLIENT_IP, 40200, 80)),
            1);
    assertThat(allowed.retval()).isEqualTo(REDIRECT);
    // rewritten for the destination: its MAC, from its host side
    assertThat(HexFormat.of().formatHex(allowed.data(), 0, 12))
        .isEqualTo("020000000802" + "020000000801");
    // one hop: TTL down by one, the header checksum still right
    assertThat(allowed.data()[14 + 8]).isEqualTo((byte) 63);
    assertThat(Packets.checksumValid(allowed.data())).isTrue();
    List<DatapathEvent> e = f.events();
    assertThat(e).extracting(DatapathEvent::endpointId).containsExactly(pod.id, peer.id);
    assertThat(e.get(1).cookie()).isEqualTo(81);
    // at TTL 1 the packet goes to the node's stack, which answers time exceeded
    assertThat(send(Packets.withTtl(ipv4(POD_IP, CLIENT_IP, TCP, tcp(40200, 80, ACK)), 1)))
        .isEqualTo(OK);
    f.events();
    // the destination's ingress policy holds although its own hook never sees the packet
    assertThat(send(syn(POD_IP, CLIENT_IP, 40201, 81))).isEqualTo(SHOT);
    DatapathEvent drop = f.events().getLast();
    assertThat(drop.endpointId()).isEqualTo(peer.id);
    assertThat(drop.direction()).isEqualTo(DIR_INGRESS);
    assertThat(drop.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(drop.cookie()).isEqualTo(900 + peer.id);
  }

  @Test
  void fromAnotherNodeAPodsIngressPolicyIsDecidedOnTheUplinkAndThePacketGoesStraightIn() {
    PacketFixture.Ep remote = pod; // the "other node's" pod: only its address matters here
    PacketFixture.Ep local = f.endpoint(8, 2100, "10.0.2.2", "fd00::22", 4242);
    local.policy(entry(POD, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 91));
    f.events();
    TestRun.Result in =
        TestRun.run(
            f.dp.programFd(LinuxDatapath.PROGRAM_FROM_NETDEV),
            syn(remote.ipv4, local.ipv4, 40500, 80),
            1);
    assertThat(in.retval()).isEqualTo(REDIRECT);
    assertThat(HexFormat.of().formatHex(in.data(), 0, 12)).isEqualTo("020000000802020000000801");
    assertThat(in.data()[14 + 8]).isEqualTo((byte) 63);
    DatapathEvent e = onlyEvent();
    assertThat(e.endpointId()).isEqualTo(local.id);
    assertThat(e.direction()).isEqualTo(DIR_INGRESS);
    assertThat(e.cookie()).isEqualTo(91);
    // what the pod's policy does not admit is dropped there
    assertThat(f.fromNetdev(syn(remote.ipv4, local.ipv4, 40501, 22))).isEqualTo(SHOT);
    assertThat(onlyEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
    // what is not for a local pod (the node itself, elsewhere) and what is not IP pass untouched
    assertThat(f.fromNetdev(syn(remote.ipv4, "172.30.1.2", 40502, 22))).isEqualTo(OK);
    assertThat(f.fromNetdev(Packets.arp(Packets.HOST_MAC, "172.30.1.3", "172.30.1.2")))
        .isEqualTo(OK);
    assertThat(f.events()).isEmpty();
  }

  /**
   * Differential: random policies (translated by the agent's translator) against core's
   * DirectionPolicy.decide, the reference the policy service traces with, on random packets.
   */
  @Test
  void kernelAgreesWithTheReferenceDecisionOnRandomPolicies() {
    Random random = new Random(42);
    int[] peers = {CLIENT, OTHER, 0, CidrClass.CLASS_SCOPE | 1};
    Protocol[] protocols = {Protocol.TCP, Protocol.UDP};
    int[] ports = {22, 53, 80, 81, 443, 8000, 8001, 8080, 65535};
    String[] sources = {CLIENT_IP, "10.0.1.5", "10.0.1.200", "192.0.2.9"};
    int mismatches = 0;
    for (int round = 0; round < 30; round++) {
      Map<Integer, List<PolicyEntry>> byPeer = new HashMap<>();
      Map<Long, PolicyEntry> unique = new HashMap<>();
      for (int i = 0; i < 1 + random.nextInt(8); i++) {
        int peer = peers[random.nextInt(peers.length)];
        int shape = random.nextInt(4);
        Protocol proto = shape == 0 ? Protocol.ANY : protocols[random.nextInt(2)];
        int prefix = shape == 0 ? 0 : shape == 1 ? 8 : 8 + 13 + random.nextInt(4);
        int port =
            prefix <= 8 ? 0 : ports[random.nextInt(ports.length)] & ~((1 << (24 - prefix)) - 1);
        Verdict v = Verdict.values()[random.nextInt(3)];
        PolicyEntry e = new PolicyEntry(peer, proto, port, prefix, v, false, List.of());
        unique.put(e.key(), e);
      }
      unique.values().forEach(e -> byPeer.computeIfAbsent(e.peer(), p -> new ArrayList<>()).add(e));
      DirectionPolicy ingress =
          new DirectionPolicy(
              Direction.INGRESS,
              true,
              Verdict.DENY,
              List.of(),
              byPeer,
              List.of(new CidrClass(Cidr.parse("10.0.1.0/25"), CidrClass.CLASS_SCOPE | 1)));
      DirectionPolicy egress =
          new DirectionPolicy(
              Direction.EGRESS, false, Verdict.ALLOW, List.of(), Map.of(), List.of());
      PolicyTranslator.Translated t =
          new PolicyTranslator(new Cookies()).translate(ingress, egress);
      pod.flags = t.flags();
      pod.ingressDefault = t.ingressDefault();
      pod.egressDefault = t.egressDefault();
      pod.policy(t.content());
      for (String src : sources) {
        for (Protocol proto : protocols) {
          for (int port : ports) {
            int peer =
                f.dp
                    .lookupIpcache(Cidr.Family.IPV4, ip(src))
                    .orElse(MapLayouts.IDENTITY_WORLD_IPV4);
            Verdict expected =
                ingress.decide(peer, ip(src), Cidr.Family.IPV4, proto, port).verdict();
            byte[] l4 = proto == Protocol.TCP ? tcp(++sport, port, SYN) : udp(++sport, port);
            int rc = f.toPod(ipv4(src, POD_IP, proto.number(), l4));
            if (rc != (expected == Verdict.DENY ? SHOT : OK)) {
              mismatches++;
            }
          }
        }
      }
    }
    assertThat(mismatches).isZero();
  }
}
