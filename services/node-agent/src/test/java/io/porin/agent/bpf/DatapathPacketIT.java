package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.DIR_EGRESS;
import static io.porin.agent.bpf.MapLayouts.DIR_INGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_EGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_INGRESS;
import static io.porin.agent.bpf.MapLayouts.POLICY_ALLOW;
import static io.porin.agent.bpf.MapLayouts.POLICY_AUDIT;
import static io.porin.agent.bpf.MapLayouts.POLICY_DENY;
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

import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.CidrClass;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The datapath's C code on crafted packets, run in the kernel with BPF_PROG_TEST_RUN (root; no
 * interface, namespace or traffic is touched). The test run gives every packet the loopback device,
 * so the endpoint under test sits at ifindex 1. Maps are pinned under a directory of this test
 * only, removed afterwards.
 */
class DatapathPacketIT {
  private static final int OK = 0;
  private static final int SHOT = 2;
  private static final int IFINDEX = 1;
  private static final int EP = 7;
  private static final int POD = 2000;
  private static final int CLIENT = 1000;
  private static final int OTHER = 3000;
  private static final String POD_IP = "10.0.0.2";
  private static final String POD_MAC = "02:00:00:00:00:02";
  private static final String HOST_MAC = "02:00:00:00:00:01";
  private static final String CLIENT_IP = "10.0.0.1";
  private static final Path PINS =
      Bpffs.ROOT.resolve("porin-test-packets-" + ProcessHandle.current().pid());

  private static Datapath dp;
  private static RingBufferReader reader;
  private static final ConcurrentLinkedQueue<DatapathEvent> EVENTS = new ConcurrentLinkedQueue<>();
  private static int revision;
  private static int sport = 30000;

  @BeforeAll
  static void load() throws Exception {
    dp = Datapath.open(PINS);
    reader = dp.events(3_600_000, b -> EVENTS.add(DatapathEvent.decode(b)));
  }

  @AfterAll
  static void unload() throws Exception {
    try {
      if (reader != null) {
        reader.close();
      }
      if (dp != null) {
        dp.close();
      }
    } finally {
      Bpffs.removeTree(PINS);
    }
  }

  @BeforeEach
  void reset() {
    dp.flushConntrack();
    dp.putIpcache(Cidr.parse(CLIENT_IP + "/32"), CLIENT);
    dp.putIpcache(Cidr.parse(POD_IP + "/32"), POD);
    dp.putIpcache(Cidr.parse("10.0.1.0/24"), OTHER);
    dp.putIpcache(Cidr.parse("fd00::1/128"), CLIENT);
    dp.putIpcache(Cidr.parse("fd00::2/128"), POD);
    reader.drain();
    EVENTS.clear();
  }

  // ---- helpers

  private static void endpoint(int flags, int ingressDefault, int egressDefault) {
    dp.putEndpoint(
        IFINDEX,
        new Datapath.EndpointConfig(
            EP,
            POD,
            ++revision,
            flags,
            ingressDefault,
            egressDefault,
            901,
            902,
            POD_MAC,
            HOST_MAC));
  }

  private static void enforceBoth() {
    endpoint(EP_ENFORCE_INGRESS | EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
  }

  private static Map.Entry<Datapath.PolicyKey, Datapath.PolicyValue> entry(
      int peer, int dir, int proto, int port, int prefix, int verdict, int cookie) {
    return Map.entry(
        new Datapath.PolicyKey(peer, dir, proto, port, prefix),
        new Datapath.PolicyValue(verdict, cookie));
  }

  @SafeVarargs
  private static void policy(Map.Entry<Datapath.PolicyKey, Datapath.PolicyValue>... entries) {
    dp.writePolicy(EP, Map.ofEntries(entries));
    // a policy change bumps the endpoint revision, as the agent does
    Datapath.EndpointConfig c = dp.endpoint(IFINDEX).orElseThrow();
    dp.putEndpoint(
        IFINDEX,
        new Datapath.EndpointConfig(
            c.endpointId(),
            c.identity(),
            ++revision,
            c.flags(),
            c.ingressDefault(),
            c.egressDefault(),
            c.ingressDefaultCookie(),
            c.egressDefaultCookie(),
            c.podMac(),
            c.hostMac()));
  }

  private static int toPod(byte[] packet) {
    return TestRun.run(dp.programFd(Datapath.PROGRAM_TO_POD), packet, 1).retval();
  }

  private static int fromPod(byte[] packet) {
    return TestRun.run(dp.programFd(Datapath.PROGRAM_FROM_POD), packet, 1).retval();
  }

  private static List<DatapathEvent> events() {
    reader.drain();
    List<DatapathEvent> out = new ArrayList<>(EVENTS);
    EVENTS.clear();
    return out;
  }

  private static DatapathEvent onlyEvent() {
    List<DatapathEvent> e = events();
    assertThat(e).hasSize(1);
    return e.get(0);
  }

  private static byte[] syn(String src, String dst, int sp, int dp) {
    return ipv4(src, dst, TCP, tcp(sp, dp, SYN));
  }

  // ---- verdicts

  @Test
  void allowedConnectionForwardsWithOneEventCarryingTheCookie() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40000, 80))).isEqualTo(OK);
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
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40000, 80, ACK)))).isEqualTo(OK);
    assertThat(events()).isEmpty();
  }

  @Test
  void noMatchingRuleIsDefaultDenyWithReason133AndTheDefaultCookie() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40001, 81))).isEqualTo(SHOT);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_DROPPED);
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(e.cookie()).isEqualTo(901);
    // an unknown source is world
    assertThat(toPod(syn("192.0.2.9", POD_IP, 40002, 80))).isEqualTo(SHOT);
    assertThat(onlyEvent().srcIdentity()).isEqualTo(2);
  }

  @Test
  void denyBeatsAllowWithReason181() {
    enforceBoth();
    policy(
        entry(CLIENT, DIR_INGRESS, 0, 0, 0, POLICY_ALLOW, 11),
        entry(0, DIR_INGRESS, TCP, 80, 24, POLICY_DENY, 12));
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40003, 80))).isEqualTo(SHOT);
    DatapathEvent e = onlyEvent();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY_DENY);
    assertThat(e.cookie()).isEqualTo(12);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40004, 81))).isEqualTo(OK);
  }

  @Test
  void lookupOrderExactThenPortWildcardThenIdentityWildcard() {
    enforceBoth();
    policy(
        entry(CLIENT, DIR_INGRESS, TCP, 0, 8, POLICY_ALLOW, 21), // client: any TCP port
        entry(0, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 22), // anyone: 443
        entry(CLIENT, DIR_INGRESS, TCP, 22, 24, POLICY_AUDIT, 23)); // client on 22: audit
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40010, 5432))).isEqualTo(OK);
    assertThat(onlyEvent().cookie()).isEqualTo(21);
    assertThat(toPod(syn("10.0.1.7", POD_IP, 40011, 443))).isEqualTo(OK);
    DatapathEvent l4only = onlyEvent();
    assertThat(l4only.cookie()).isEqualTo(22);
    assertThat(l4only.matchType()).isEqualTo(3); // L4-only
    assertThat(toPod(syn("10.0.1.7", POD_IP, 40012, 5432))).isEqualTo(SHOT);
    events();
    // the stronger verdict wins across lookups: audit (exact) over allow (wildcards)
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40013, 22))).isEqualTo(OK);
    DatapathEvent audit = onlyEvent();
    assertThat(audit.verdict()).isEqualTo(MapLayouts.VERDICT_AUDIT);
    assertThat(audit.cookie()).isEqualTo(23);
  }

  @Test
  void portRangesAreLpmPrefixes() {
    enforceBoth();
    // 8000-8007 = 8000/3 bits wildcarded = prefix 8 + 13
    policy(entry(CLIENT, DIR_INGRESS, TCP, 8000, 21, POLICY_ALLOW, 31));
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40020, 8000))).isEqualTo(OK);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40021, 8007))).isEqualTo(OK);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40022, 8008))).isEqualTo(SHOT);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40023, 7999))).isEqualTo(SHOT);
    // UDP on the same port is another protocol
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, udp(40024, 8000)))).isEqualTo(SHOT);
  }

  @Test
  void repliesOfAllowedConnectionsPassThroughConntrack() {
    enforceBoth();
    policy(entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 41));
    // the pod connects out: allowed by its egress policy
    assertThat(fromPod(syn(POD_IP, CLIENT_IP, 40030, 80))).isEqualTo(OK);
    // the reply comes in although nothing allows ingress
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40030, SYN | ACK)))).isEqualTo(OK);
    // a new connection from the same peer is not a reply
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 80, 40031))).isEqualTo(SHOT);
    assertThat(dp.conntrackEntries()).isEqualTo(1);
  }

  @Test
  void establishedConnectionsAreCutWhenPolicyRemovesTheirAllow() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40040, 80))).isEqualTo(OK);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40040, 80, ACK)))).isEqualTo(OK);
    policy(entry(CLIENT, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 11));
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40040, 80, ACK)))).isEqualTo(SHOT);
    // and a connection still allowed under the new policy keeps going
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40041, 443))).isEqualTo(OK);
    policy(
        entry(CLIENT, DIR_INGRESS, TCP, 443, 24, POLICY_ALLOW, 11),
        entry(CLIENT, DIR_INGRESS, TCP, 8443, 24, POLICY_ALLOW, 11));
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(40041, 443, ACK)))).isEqualTo(OK);
  }

  @Test
  void closedTcpConnectionsAreNotReopenedByStrayPackets() {
    enforceBoth();
    policy(entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 41));
    assertThat(fromPod(syn(POD_IP, CLIENT_IP, 40050, 80))).isEqualTo(OK);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40050, SYN | ACK)))).isEqualTo(OK);
    assertThat(fromPod(ipv4(POD_IP, CLIENT_IP, TCP, tcp(40050, 80, FIN | ACK)))).isEqualTo(OK);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, TCP, tcp(80, 40050, FIN | ACK)))).isEqualTo(OK);
    // a new SYN on the closed tuple is decided again (and still allowed)
    assertThat(fromPod(syn(POD_IP, CLIENT_IP, 40050, 80))).isEqualTo(OK);
    assertThat(events()).hasSize(2);
  }

  @Test
  void laterFragmentsMeetTheVerdictOfTheirFirstFragment() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 51));
    // allowed datagram: first fragment (MF, offset 0), then a later one (offset 185*8)
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, 0x2000, 77, udp(40060, 53)))).isEqualTo(OK);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, 185, 77, new byte[16]))).isEqualTo(OK);
    // denied datagram: its later fragment cannot slip through either
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, 0x2000, 78, udp(40061, 54)))).isEqualTo(SHOT);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, 185, 78, new byte[16]))).isEqualTo(SHOT);
    events();
    // a later fragment whose first fragment was never seen
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, UDP, 185, 79, new byte[16]))).isEqualTo(SHOT);
    assertThat(onlyEvent().reason()).isEqualTo(MapLayouts.DROP_FRAG_NOT_FOUND);
  }

  @Test
  void ipv6WithExtensionHeaders() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 61));
    assertThat(toPod(ipv6("fd00::1", "fd00::2", TCP, true, tcp(40070, 80, SYN)))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.source()).isEqualTo(addr("fd00::1"));
    assertThat(e.srcIdentity()).isEqualTo(CLIENT);
    assertThat(toPod(ipv6("fd00::1", "fd00::2", TCP, false, tcp(40071, 81, SYN)))).isEqualTo(SHOT);
    // neighbour discovery passes even under default deny
    assertThat(toPod(ipv6("fd00::1", "fd00::2", ICMPV6, false, icmp(135, 0)))).isEqualTo(OK);
    // ARP too
    assertThat(toPod(Packets.arp())).isEqualTo(OK);
  }

  @Test
  void icmpIsKeyedByTypeAndEchoRepliesAreTracked() {
    enforceBoth();
    policy(
        entry(CLIENT, DIR_EGRESS, TCP, 80, 24, POLICY_ALLOW, 71),
        entry(CLIENT, DIR_EGRESS, ICMP, 8, 24, POLICY_ALLOW, 72));
    assertThat(fromPod(ipv4(POD_IP, CLIENT_IP, ICMP, icmp(8, 99)))).isEqualTo(OK);
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, ICMP, icmp(0, 99)))).isEqualTo(OK);
    // an echo request the other way is not allowed by anything
    assertThat(toPod(ipv4(CLIENT_IP, POD_IP, ICMP, icmp(8, 100)))).isEqualTo(SHOT);
    // ICMP timestamp (13) is not allowed
    assertThat(fromPod(ipv4(POD_IP, CLIENT_IP, ICMP, icmp(13, 5)))).isEqualTo(SHOT);
  }

  @Test
  void unenforcedDirectionsForwardAndStillReportNewConnections() {
    endpoint(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW);
    policy();
    assertThat(fromPod(syn(POD_IP, "192.0.2.1", 40080, 443))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_FORWARDED);
    assertThat(e.dstIdentity()).isEqualTo(2);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40081, 80))).isEqualTo(SHOT);
  }

  @Test
  void auditModeForwardsWhatDefaultDenyWouldDrop() {
    endpoint(EP_ENFORCE_INGRESS | EP_ENFORCE_EGRESS, POLICY_AUDIT, POLICY_AUDIT);
    policy();
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40090, 80))).isEqualTo(OK);
    DatapathEvent e = onlyEvent();
    assertThat(e.verdict()).isEqualTo(MapLayouts.VERDICT_AUDIT);
    assertThat(e.cookie()).isEqualTo(901);
  }

  @Test
  void trafficOfAnUnknownEndpointIsDropped() {
    dp.deleteEndpoint(IFINDEX);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40100, 80))).isEqualTo(SHOT);
    assertThat(onlyEvent().reason()).isEqualTo(MapLayouts.DROP_EP_NOT_READY);
    assertThat(dp.counters())
        .anySatisfy(
            c -> {
              assertThat(c.reason()).isEqualTo(MapLayouts.DROP_EP_NOT_READY);
              assertThat(c.direction()).isEqualTo(DIR_INGRESS);
            });
  }

  @Test
  void aPolicyThatDoesNotFitIsRefusedWholeAndTheMapKeepsItsContents() {
    enforceBoth();
    policy(entry(CLIENT, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 11));
    Map<Datapath.PolicyKey, Datapath.PolicyValue> tooMany = new HashMap<>();
    for (int i = 0; tooMany.size() <= MapLayouts.POLICY_MAX; i++) {
      tooMany.put(
          new Datapath.PolicyKey(100_000 + i, DIR_INGRESS, TCP, 80, 24),
          new Datapath.PolicyValue(POLICY_ALLOW, 1));
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> dp.writePolicy(EP, tooMany))
        .isInstanceOf(PolicyMapOverflowException.class)
        .hasMessageContaining("needs " + (MapLayouts.POLICY_MAX + 1));
    assertThat(dp.readPolicy(EP)).hasSize(1);
    assertThat(toPod(syn(CLIENT_IP, POD_IP, 40300, 80))).isEqualTo(OK);
  }

  @Test
  void sameNodeTrafficMeetsBothEndpointsPoliciesAndIsRedirectedIntoTheDestination()
      throws Exception {
    int peerIfindex = 4242; // never used as a device: the test run does not carry out redirects
    int peerEndpoint = 8;
    endpoint(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW); // the sender: egress not enforced
    policy();
    dp.putEndpoint(
        peerIfindex,
        new Datapath.EndpointConfig(
            peerEndpoint,
            CLIENT,
            1,
            EP_ENFORCE_INGRESS,
            POLICY_DENY,
            POLICY_ALLOW,
            903,
            0,
            "02:00:00:00:00:0c",
            "02:00:00:00:00:0b"));
    dp.writePolicy(
        peerEndpoint, Map.ofEntries(entry(POD, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 81)));
    dp.putLocalAddress(Cidr.Family.IPV4, ip(CLIENT_IP), peerIfindex);
    try {
      TestRun.Result allowed =
          TestRun.run(
              dp.programFd(Datapath.PROGRAM_FROM_POD), syn(POD_IP, CLIENT_IP, 40200, 80), 1);
      assertThat(allowed.retval()).isEqualTo(7); // TC_ACT_REDIRECT
      // rewritten for the destination: its MAC, from its host side
      assertThat(java.util.HexFormat.of().formatHex(allowed.data(), 0, 12))
          .isEqualTo("02000000000c02000000000b");
      // one hop: TTL down by one, the header checksum still right
      assertThat(allowed.data()[14 + 8]).isEqualTo((byte) 63);
      assertThat(Packets.checksumValid(allowed.data())).isTrue();
      List<DatapathEvent> e = events();
      assertThat(e).extracting(DatapathEvent::endpointId).containsExactly(EP, peerEndpoint);
      assertThat(e.get(1).cookie()).isEqualTo(81);
      // at TTL 1 the packet goes to the node's stack, which answers time exceeded
      TestRun.Result lastHop =
          TestRun.run(
              dp.programFd(Datapath.PROGRAM_FROM_POD),
              Packets.withTtl(ipv4(POD_IP, CLIENT_IP, TCP, tcp(40200, 80, ACK)), 1),
              1);
      assertThat(lastHop.retval()).isEqualTo(OK);
      events();
      // the destination's ingress policy holds although its own hook never sees the packet
      assertThat(fromPod(syn(POD_IP, CLIENT_IP, 40201, 81))).isEqualTo(SHOT);
      DatapathEvent drop = events().getLast();
      assertThat(drop.endpointId()).isEqualTo(peerEndpoint);
      assertThat(drop.direction()).isEqualTo(DIR_INGRESS);
      assertThat(drop.reason()).isEqualTo(MapLayouts.DROP_POLICY);
      assertThat(drop.cookie()).isEqualTo(903);
    } finally {
      dp.deleteLocalAddress(Cidr.Family.IPV4, ip(CLIENT_IP));
      dp.deleteEndpoint(peerIfindex);
      dp.deletePolicyMap(peerEndpoint);
    }
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
      dp.writePolicy(EP, t.entries());
      dp.writeCidrClasses(EP, DIR_INGRESS, t.ingressClasses());
      dp.putEndpoint(IFINDEX, t.endpoint(EP, POD, ++revision, POD_MAC, HOST_MAC));
      for (String src : sources) {
        for (Protocol proto : protocols) {
          for (int port : ports) {
            int peer = dp.lookupIpcache(Cidr.Family.IPV4, ip(src)).orElse(2);
            Verdict expected =
                ingress.decide(peer, ip(src), Cidr.Family.IPV4, proto, port).verdict();
            byte[] l4 = proto == Protocol.TCP ? tcp(++sport, port, SYN) : udp(++sport, port);
            int rc = toPod(ipv4(src, POD_IP, proto.number(), l4));
            if (rc != (expected == Verdict.DENY ? SHOT : OK)) {
              mismatches++;
            }
          }
        }
      }
    }
    dp.writeCidrClasses(EP, DIR_INGRESS, Map.of());
    assertThat(mismatches).isZero();
  }

  private static BigInteger ip(String s) {
    return new BigInteger(1, addr(s).getAddress());
  }

  private static InetAddress addr(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(s, e);
    }
  }
}
