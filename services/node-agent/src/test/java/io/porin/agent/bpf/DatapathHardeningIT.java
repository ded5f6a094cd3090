package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.DIR_EGRESS;
import static io.porin.agent.bpf.MapLayouts.DIR_INGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_INGRESS;
import static io.porin.agent.bpf.MapLayouts.POLICY_ALLOW;
import static io.porin.agent.bpf.MapLayouts.POLICY_DENY;
import static io.porin.agent.bpf.PacketFixture.OK;
import static io.porin.agent.bpf.PacketFixture.REDIRECT;
import static io.porin.agent.bpf.PacketFixture.SHOT;
import static io.porin.agent.bpf.PacketFixture.entry;
import static io.porin.agent.bpf.Packets.ACK;
import static io.porin.agent.bpf.Packets.ICMP;
import static io.porin.agent.bpf.Packets.ICMPV6;
import static io.porin.agent.bpf.Packets.SYN;
import static io.porin.agent.bpf.Packets.TCP;
import static io.porin.agent.bpf.Packets.UDP;
import static io.porin.agent.bpf.Packets.icmp;
import static io.porin.agent.bpf.Packets.icmpError;
import static io.porin.agent.bpf.Packets.ipv4;
import static io.porin.agent.bpf.Packets.ipv6;
import static io.porin.agent.bpf.Packets.ipv6Fragment;
import static io.porin.agent.bpf.Packets.tcp;
import static io.porin.agent.bpf.Packets.udp;
import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.PolicyContent;
import io.porin.core.ipam.Cidr;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What a pod that crafts packets cannot do, one finding of the datapath review at a time (the
 * expected verdicts are the review's), on the compiled datapath in the kernel (BPF_PROG_TEST_RUN,
 * root). A is the attacking pod, B its same-node victim, C a third pod.
 */
@Tag("privileged")
class DatapathHardeningIT {
  private static final int A_ID = 7;
  private static final int B_ID = 8;
  private static final int A = 2000;
  private static final int B = 2100;
  private static final int C = 300;
  private static final String A_IP = "10.0.0.2";
  private static final String B_IP = "10.0.0.3";
  private static final String C_IP = "10.0.5.5";
  private static final String A_IP6 = "fd00::2";
  private static final String B_IP6 = "fd00::3";
  private static final String C_IP6 = "fd00::5";
  private static final String GATEWAY = "10.0.0.1";
  private static final String WORLD_IP = "192.0.2.9";

  private static PacketFixture f;
  private PacketFixture.Ep a;
  private PacketFixture.Ep b;

  @BeforeAll
  static void load() throws Exception {
    f = new PacketFixture("hardening");
  }

  @AfterAll
  static void unload() throws Exception {
    f.close();
  }

  @BeforeEach
  void pods() {
    a = f.endpoint(A_ID, A, A_IP, A_IP6, PacketFixture.IFINDEX);
    b = f.endpoint(B_ID, B, B_IP, B_IP6, 4242);
    f.ipcache(C_IP + "/32", C);
    f.ipcache(C_IP6 + "/128", C);
    f.ipcache(GATEWAY + "/32", MapLayouts.IDENTITY_HOST);
    // A may send anything (egress not enforced); B admits only C on TCP 22
    a.enforce(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW);
    b.enforce(EP_ENFORCE_INGRESS, POLICY_DENY, POLICY_ALLOW);
    b.policy(entry(C, DIR_INGRESS, TCP, 22, 24, POLICY_ALLOW, 55));
    f.events();
  }

  @AfterEach
  void clean() {
    f.reset();
  }

  private int send(byte[] frame) {
    return f.send(a, frame);
  }

  private DatapathEvent lastEvent() {
    List<DatapathEvent> e = f.events();
    assertThat(e).isNotEmpty();
    return e.getLast();
  }

  // ---- 1. source validation

  @Test
  void aPodCannotSendAsAnotherIdentity() {
    // C may reach B:22; A pretends to be C
    assertThat(send(ipv4(C_IP, B_IP, TCP, tcp(40000, 22, SYN)))).isEqualTo(SHOT);
    DatapathEvent e = lastEvent();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
    assertThat(e.endpointId()).isEqualTo(A_ID);
    assertThat(e.direction()).isEqualTo(DIR_EGRESS);
    // the same over IPv6
    assertThat(send(ipv6(C_IP6, B_IP6, TCP, false, tcp(40001, 22, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
    // nor as the host, through the gateway address
    assertThat(send(ipv4(GATEWAY, B_IP, TCP, tcp(40002, 22, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
    // while its own address still gets its own verdict (B does not admit A)
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40003, 22, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(f.counter(MapLayouts.DROP_INVALID_SOURCE_IP, DIR_EGRESS)).isGreaterThanOrEqualTo(3);
  }

  @Test
  void aPodCannotSendFromAnotherMac() {
    byte[] spoofedMac = {2, 0, 0, 0, 0x66, 0x66};
    byte[] frame =
        Packets.withMacs(
            ipv4(A_IP, "10.0.9.9", TCP, tcp(40010, 80, SYN)), spoofedMac, Packets.HOST_MAC);
    assertThat(f.fromPod(frame)).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_MAC);
  }

  @Test
  void arpFromAPodMustNameItsOwnAddressAndMac() {
    byte[] mac = Packets.POD_MAC;
    assertThat(f.fromPod(Packets.arp(mac, A_IP, GATEWAY))).isEqualTo(OK);
    // an ARP probe (RFC 5227) comes from 0.0.0.0
    assertThat(f.fromPod(Packets.arp(mac, "0.0.0.0", A_IP))).isEqualTo(OK);
    // claiming B's address: poisoning the node's neighbour table
    assertThat(f.fromPod(Packets.arp(mac, B_IP, GATEWAY))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
    // a sender hardware address that is not the pod's
    byte[] frame = Packets.arp(mac, A_IP, GATEWAY);
    frame[14 + 8 + 5] = 0x66;
    assertThat(f.fromPod(frame)).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_MAC);
  }

  @Test
  void unspecifiedAndLinkLocalSourcesOnlyForNeighbourDiscovery() {
    // DAD: a neighbour solicitation from ::, hop limit 255
    assertThat(send(ipv6("::", "ff02::1:ff00:2", ICMPV6, false, 255, icmp(135, 0)))).isEqualTo(OK);
    // router solicitation from the pod's link-local address
    assertThat(send(ipv6("fe80::1", "ff02::2", ICMPV6, false, 255, icmp(133, 0)))).isEqualTo(OK);
    // but nothing else from a link-local or unspecified source
    assertThat(send(ipv6("fe80::1", B_IP6, TCP, false, tcp(40020, 22, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
    assertThat(send(ipv6("::", B_IP6, ICMPV6, false, 64, icmp(128, 1)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_SOURCE_IP);
  }

  // ---- 2. conntrack scoped to the endpoint

  @Test
  void aPlantedReplyOpensNothingForAnotherEndpoint() {
    // As if A could send from B's address (finding 1 fixed separately): A plants B:22 -> A:p
    a.sourceIpv4 = B_IP;
    a.put();
    send(ipv4(B_IP, A_IP, TCP, tcp(22, 40100, SYN | ACK)));
    a.sourceIpv4 = null;
    a.put();
    f.events();
    // then connects to B:22, which admits only C: the "reply" B -> A is not B's state
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40100, 22, SYN)))).isEqualTo(SHOT);
    DatapathEvent drop = lastEvent();
    assertThat(drop.endpointId()).isEqualTo(B_ID);
    assertThat(drop.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    // and nothing later in that session gets in either
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40100, 22, ACK)))).isEqualTo(SHOT);
    assertThat(f.dp.connections(B_ID)).isEmpty();
  }

  @Test
  void aHelperCannotOpenEgressForALockedInPod() {
    // B may send nothing. As if A could send from B's address (and with B's revision, as the
    // agent's per-endpoint counters nearly always had it), A sends B:443 -> world first ...
    b.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.sourceIpv4 = B_IP;
    a.revision = b.revision;
    a.put();
    assertThat(send(ipv4(B_IP, WORLD_IP, TCP, tcp(443, 40110, SYN)))).isEqualTo(OK);
    a.sourceIpv4 = null;
    a.put();
    // ... then B sends the same: no state of A's counts for B
    f.at(b, a);
    assertThat(f.send(b, ipv4(B_IP, WORLD_IP, TCP, tcp(443, 40110, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(f.send(b, ipv4(B_IP, WORLD_IP, TCP, tcp(443, 40110, ACK)))).isEqualTo(SHOT);
  }

  @Test
  void repliesOfAConnectionAcrossTheFastPathStillPass() {
    b.policy(entry(A, DIR_INGRESS, TCP, 8080, 24, POLICY_ALLOW, 56));
    b.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40110, 8080, SYN)))).isEqualTo(REDIRECT);
    // B answers that connection (a reply: passes) but cannot start its own to A
    f.at(b, a);
    assertThat(f.send(b, ipv4(B_IP, A_IP, TCP, tcp(8080, 40110, SYN | ACK)))).isEqualTo(REDIRECT);
    assertThat(f.send(b, ipv4(B_IP, A_IP, TCP, tcp(8080, 40111, SYN)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
  }

  // ---- 3. a deleted pod's connections do not meet a new pod on its id and address

  @Test
  void aNewPodOnAReusedIdAndAddressInheritsNoConnection() {
    b.policy(entry(A, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 57));
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40200, 80, SYN)))).isEqualTo(REDIRECT);
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40200, 80, ACK)))).isEqualTo(REDIRECT);
    // B is deleted; a new pod gets its endpoint id, its address, and (as the agent once did)
    // the same revision number
    int oldRevision = b.revision;
    f.dp.deleteEndpoint(b.ifindex);
    f.dp.forgetEndpoint(B_ID);
    f.dp.resetConnections(B_ID, 1024);
    b.revision = oldRevision;
    b.slot = 0;
    f.dp.writePolicy(B_ID, 0, PolicyContent.EMPTY);
    b.put();
    // the old connection's packets meet the new pod's policy (deny all)
    assertThat(send(ipv4(A_IP, B_IP, TCP, tcp(40200, 80, ACK)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
  }

  // ---- 4. a cached verdict follows the peer's identity

  @Test
  void anEstablishedConnectionIsDecidedAgainWhenThePeersIdentityChanges() {
    f.at(b, a);
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(40300, 22, SYN)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(40300, 22, ACK)))).isEqualTo(OK);
    // C's address now belongs to another identity (relabelled, IP moved)
    f.ipcache(C_IP + "/32", 301);
    f.dp.ipcacheChanged();
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(40300, 22, ACK)))).isEqualTo(SHOT);
    DatapathEvent e = lastEvent();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(e.srcIdentity()).isEqualTo(301);
    // an unrelated ipcache change leaves allowed connections alone
    f.ipcache(C_IP + "/32", C);
    f.dp.ipcacheChanged();
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(40301, 22, SYN)))).isEqualTo(OK);
    f.ipcache("10.9.9.9/32", 999);
    f.dp.ipcacheChanged();
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(40301, 22, ACK)))).isEqualTo(OK);
  }

  // ---- 6. replies are checked again when the policy changed

  @Test
  void repliesStopWhenThePolicyNoLongerAllowsTheirConnection() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(0, DIR_EGRESS, UDP, 53, 24, POLICY_ALLOW, 60));
    assertThat(send(ipv4(A_IP, WORLD_IP, UDP, udp(40400, 53)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, UDP, udp(53, 40400)))).isEqualTo(OK);
    // lockdown: the egress allow is gone; the peer keeps "replying"
    a.policy();
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, UDP, udp(53, 40400)))).isEqualTo(SHOT);
    DatapathEvent e = lastEvent();
    assertThat(e.reply()).isTrue();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    // and the connection is gone, not refreshed
    assertThat(f.dp.connections(A_ID)).isEmpty();
    // replies of a connection still allowed under a changed policy keep flowing
    a.policy(entry(0, DIR_EGRESS, UDP, 53, 24, POLICY_ALLOW, 60));
    assertThat(send(ipv4(A_IP, WORLD_IP, UDP, udp(40401, 53)))).isEqualTo(OK);
    a.policy(
        entry(0, DIR_EGRESS, UDP, 53, 24, POLICY_ALLOW, 60),
        entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 61));
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, UDP, udp(53, 40401)))).isEqualTo(OK);
  }

  // ---- 7. ICMP keyed by type and code

  @Test
  void oneAllowedIcmpMessageOpensNoOtherType() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(
        entry(0, DIR_EGRESS, ICMP, 13, 24, POLICY_ALLOW, 70),
        entry(0, DIR_EGRESS, ICMP, 8, 24, POLICY_ALLOW, 71));
    assertThat(send(ipv4(A_IP, WORLD_IP, ICMP, icmp(13, 0)))).isEqualTo(OK);
    assertThat(send(ipv4(A_IP, WORLD_IP, ICMP, icmp(17, 0)))).isEqualTo(SHOT);
    // an echo with identifier 0 opens nothing else either
    assertThat(send(ipv4(A_IP, WORLD_IP, ICMP, icmp(8, 0)))).isEqualTo(OK);
    assertThat(send(ipv4(A_IP, WORLD_IP, ICMP, icmp(5, 0)))).isEqualTo(SHOT);
    // nor does the world's type 13 pass as a "reply" to A's
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, ICMP, icmp(13, 0)))).isEqualTo(SHOT);
  }

  // ---- 8. ICMP errors of allowed connections are RELATED

  @Test
  void icmpErrorsAboutAnAllowedConnectionPass() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 80));
    byte[] out = ipv4(A_IP, WORLD_IP, TCP, tcp(40500, 443, SYN));
    assertThat(send(out)).isEqualTo(OK);
    // a router on the way: fragmentation needed (path MTU discovery)
    assertThat(f.toPod(ipv4("198.51.100.1", A_IP, ICMP, icmpError(3, 4, out)))).isEqualTo(OK);
    // time exceeded too
    assertThat(f.toPod(ipv4("198.51.100.1", A_IP, ICMP, icmpError(11, 0, out)))).isEqualTo(OK);
    // but an error about a connection A never made is decided by policy (and denied)
    byte[] other = ipv4(A_IP, WORLD_IP, TCP, tcp(40501, 443, SYN));
    assertThat(f.toPod(ipv4("198.51.100.1", A_IP, ICMP, icmpError(3, 4, other)))).isEqualTo(SHOT);
    // nor about another pod's connection
    byte[] bs = ipv4(B_IP, WORLD_IP, TCP, tcp(40500, 443, SYN));
    assertThat(f.toPod(ipv4("198.51.100.1", A_IP, ICMP, icmpError(3, 4, bs)))).isEqualTo(SHOT);
    // IPv6: packet too big, mandatory for path MTU discovery
    byte[] out6 = ipv6(A_IP6, "2001:db8::9", TCP, false, tcp(40502, 443, SYN));
    assertThat(send(out6)).isEqualTo(OK);
    assertThat(f.toPod(ipv6("2001:db8::1", A_IP6, ICMPV6, false, icmpError(2, 0, out6))))
        .isEqualTo(OK);
  }

  @Test
  void aPodMayAnswerAnAllowedDatagramWithPortUnreachable() {
    // ingress allows UDP 5353 from C; A's port is closed: its unreachable goes out as RELATED
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(C, DIR_INGRESS, UDP, 5353, 24, POLICY_ALLOW, 81));
    byte[] in = ipv4(C_IP, A_IP, UDP, udp(40600, 5353));
    assertThat(f.toPod(in)).isEqualTo(OK);
    assertThat(send(ipv4(A_IP, C_IP, ICMP, icmpError(3, 3, in)))).isEqualTo(OK);
  }

  // ---- 9. a conntrack flood hurts only the flooding pod

  @Test
  void aConntrackFloodEvictsOnlyTheFloodersOwnEntries() {
    PacketFixture.onOneCpu(this::conntrackFlood);
  }

  private void conntrackFlood() {
    f.dp.resetConnections(A_ID, 256);
    // B has a connection to the world
    b.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    b.policy(entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 90));
    f.at(b, a);
    assertThat(f.send(b, ipv4(B_IP, WORLD_IP, TCP, tcp(40700, 443, SYN)))).isEqualTo(OK);
    f.at(a, b);
    // A opens more connections than the node's whole conntrack used to hold (262,144)
    for (int i = 0; i < 270_000; i++) {
      int dport = 1024 + (i % 60000);
      send(ipv4(A_IP, "192.0.2." + (1 + i / 60000), UDP, udp(20000 + (i % 1000), dport)));
    }
    f.events();
    assertThat(f.dp.connections(A_ID).size()).isLessThanOrEqualTo(256);
    // B's reply still finds its connection
    f.at(b, a);
    assertThat(f.toPod(ipv4(WORLD_IP, B_IP, TCP, tcp(443, 40700, SYN | ACK)))).isEqualTo(OK);
  }

  @Test
  void garbageCollectionRemovesExpiredEntriesAndCountsTheRest() {
    a.policy();
    assertThat(send(ipv4(A_IP, WORLD_IP, UDP, udp(40800, 53)))).isEqualTo(OK);
    assertThat(send(ipv4(A_IP, WORLD_IP, UDP, udp(40801, 53)))).isEqualTo(OK);
    var now = f.dp.sweepConntrack(A_ID, System.nanoTime());
    assertThat(now.live()).isEqualTo(2);
    assertThat(now.removed()).isZero();
    assertThat(now.capacity()).isEqualTo(1024);
    // two minutes on, the UDP entries (60 s) have expired
    var later = f.dp.sweepConntrack(A_ID, System.nanoTime() + 120_000_000_000L);
    assertThat(later.removed()).isEqualTo(2);
    assertThat(f.dp.connections(A_ID)).isEmpty();
  }

  // ---- 10. fragments

  @Test
  void deniedFirstFragmentsTakeNoRoomFromOtherPods() {
    PacketFixture.onOneCpu(this::fragmentFlood);
  }

  private void fragmentFlood() {
    f.at(b, a);
    b.policy(entry(C, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 100));
    // C's allowed datagram to B: first fragment in
    assertThat(f.toPod(ipv4(C_IP, B_IP, UDP, 0x2000, 7, udp(40900, 53)))).isEqualTo(OK);
    // A floods denied first fragments at B (more than the node's old fragment table held)
    f.at(a, b);
    for (int i = 0; i < 9000; i++) {
      send(ipv4(A_IP, B_IP, UDP, 0x2000, 10_000 + i, udp(41000, 9999)));
    }
    f.events();
    // C's later fragment still finds its first
    f.at(b, a);
    assertThat(f.toPod(ipv4(C_IP, B_IP, UDP, 185, 7, new byte[16]))).isEqualTo(OK);
  }

  @Test
  void theLastFragmentEndsTheDatagram() {
    f.at(b, a);
    b.policy(entry(C, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 101));
    assertThat(f.toPod(ipv4(C_IP, B_IP, UDP, 0x2000, 8, udp(40901, 53)))).isEqualTo(OK);
    assertThat(f.toPod(ipv4(C_IP, B_IP, UDP, 185, 8, new byte[16]))).isEqualTo(OK);
    // a "later fragment" after the last one belongs to no datagram
    assertThat(f.toPod(ipv4(C_IP, B_IP, UDP, 0x2000 | 370, 8, new byte[16]))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_FRAG_NOT_FOUND);
  }

  @Test
  void laterIpv6FragmentsFollowTheirFirst() {
    f.at(b, a);
    b.policy(entry(C, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 102));
    assertThat(f.toPod(ipv6Fragment(C_IP6, B_IP6, UDP, 0, true, 77, udp(40902, 53)))).isEqualTo(OK);
    assertThat(f.toPod(ipv6Fragment(C_IP6, B_IP6, UDP, 100, false, 77, new byte[16])))
        .isEqualTo(OK);
    // a denied datagram's later fragments are dropped as having no first
    assertThat(f.toPod(ipv6Fragment(C_IP6, B_IP6, UDP, 0, true, 78, udp(40903, 54))))
        .isEqualTo(SHOT);
    assertThat(f.toPod(ipv6Fragment(C_IP6, B_IP6, UDP, 100, false, 78, new byte[16])))
        .isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_FRAG_NOT_FOUND);
  }

  // ---- 11. the world of each family

  @Test
  void theIpv4WorldIsNotTheIpv6World() {
    // toCIDR 0.0.0.0/0 compiles to world-ipv4 (core); ::/0 to world-ipv6
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(MapLayouts.IDENTITY_WORLD_IPV4, DIR_EGRESS, 0, 0, 0, POLICY_ALLOW, 110));
    assertThat(send(ipv4(A_IP, WORLD_IP, TCP, tcp(41100, 443, SYN)))).isEqualTo(OK);
    assertThat(lastEvent().dstIdentity()).isEqualTo(MapLayouts.IDENTITY_WORLD_IPV4);
    assertThat(send(ipv6(A_IP6, "2001:db8::9", TCP, false, tcp(41101, 443, SYN)))).isEqualTo(SHOT);
    DatapathEvent e = lastEvent();
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
    assertThat(e.dstIdentity()).isEqualTo(MapLayouts.IDENTITY_WORLD_IPV6);
  }

  // ---- 12. neighbour discovery, MLD and ARP

  @Test
  void neighbourDiscoveryPassesOnlyAsLinkTraffic() {
    long forwardedBefore = f.counter(0, DIR_INGRESS);
    // from the link: hop limit 255, link-local source
    assertThat(f.toPod(ipv6("fe80::1", A_IP6, ICMPV6, false, 255, icmp(135, 0)))).isEqualTo(OK);
    assertThat(f.events()).isEmpty();
    assertThat(f.counter(0, DIR_INGRESS)).isEqualTo(forwardedBefore + 1);
    // routed (hop limit below 255), or from a non-link source: policy decides (denies)
    assertThat(f.toPod(ipv6("fe80::1", A_IP6, ICMPV6, false, 64, icmp(135, 0)))).isEqualTo(SHOT);
    assertThat(f.toPod(ipv6("2001:db8::66", A_IP6, ICMPV6, false, 255, icmp(136, 0))))
        .isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
  }

  @Test
  void mldReportsPassCountedWithoutAFlow() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    f.events();
    long before = f.counter(0, DIR_EGRESS);
    assertThat(send(ipv6("fe80::1", "ff02::16", ICMPV6, true, 1, icmp(143, 0)))).isEqualTo(OK);
    assertThat(f.events()).isEmpty();
    assertThat(f.counter(0, DIR_EGRESS)).isEqualTo(before + 1);
    // an "MLD report" to a unicast address is no MLD: policy decides
    assertThat(send(ipv6(A_IP6, B_IP6, ICMPV6, false, 1, icmp(143, 0)))).isEqualTo(SHOT);
  }

  @Test
  void arpIsCounted() {
    long before = f.counter(0, DIR_INGRESS);
    assertThat(f.toPod(Packets.arp(Packets.HOST_MAC, GATEWAY, A_IP))).isEqualTo(OK);
    assertThat(f.counter(0, DIR_INGRESS)).isEqualTo(before + 1);
  }

  // ---- found by the attacker's review of the hardened datapath

  @Test
  void neighbourDiscoveryToARoutedAddressIsNoControlMessage() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    // hop limit 255, code 0, from its own address: but to the world, it would be routed on
    assertThat(send(ipv6(A_IP6, "2001:db8::bad", ICMPV6, false, 255, icmp(135, 0))))
        .isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
    // the same to its link stays link traffic
    assertThat(send(ipv6(A_IP6, "fe80::1", ICMPV6, false, 255, icmp(135, 0)))).isEqualTo(OK);
    assertThat(send(ipv6(A_IP6, "ff02::1:ff00:1", ICMPV6, false, 255, icmp(135, 0)))).isEqualTo(OK);
    // a non-zero code is no ND message
    assertThat(send(ipv6(A_IP6, "fe80::1", ICMPV6, false, 255, icmp(135, 1, 0)))).isEqualTo(SHOT);
    // MLD only to this link's groups
    assertThat(send(ipv6("fe80::1", "ff05::16", ICMPV6, true, 1, icmp(143, 0)))).isEqualTo(SHOT);
  }

  @Test
  void anIcmpErrorGoesOnlyBackToTheConnectionsOtherEnd() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(0, DIR_EGRESS, UDP, 53, 24, POLICY_ALLOW, 120));
    assertThat(send(ipv4(A_IP, "8.8.8.8", UDP, udp(40900, 53)))).isEqualTo(OK);
    byte[] answer = ipv4("8.8.8.8", A_IP, UDP, udp(53, 40900));
    // an "error" about the DNS answer, sent to an address A may not reach: exfiltration
    assertThat(send(ipv4(A_IP, "6.6.6.6", ICMP, icmpError(3, 3, answer)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_POLICY);
    // to the DNS server itself it is RELATED
    assertThat(send(ipv4(A_IP, "8.8.8.8", ICMP, icmpError(3, 3, answer)))).isEqualTo(OK);
  }

  @Test
  void aPodCannotInjectIcmpErrorsAboutAnotherPodsConnections() {
    // A has a connection to the world; B (a pod, no router) sends A an error about it
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 121));
    byte[] out = ipv4(A_IP, WORLD_IP, TCP, tcp(40901, 443, SYN));
    assertThat(send(out)).isEqualTo(OK);
    f.at(b, a);
    assertThat(f.send(b, ipv4(B_IP, A_IP, ICMP, icmpError(3, 4, out)))).isEqualTo(SHOT);
    DatapathEvent e = lastEvent();
    assertThat(e.endpointId()).isEqualTo(A_ID);
    assertThat(e.reason()).isEqualTo(MapLayouts.DROP_POLICY);
  }

  @Test
  void anIcmpErrorAboutAConnectionItsPolicyNoLongerAllowsIsNotRelated() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 122));
    byte[] out = ipv4(A_IP, WORLD_IP, TCP, tcp(40902, 443, SYN));
    assertThat(send(out)).isEqualTo(OK);
    a.policy();
    assertThat(f.toPod(ipv4("198.51.100.1", A_IP, ICMP, icmpError(3, 4, out)))).isEqualTo(SHOT);
  }

  @Test
  void bytesBeyondTheIpv6PayloadLengthAreNotTheDatagrams() {
    // a first fragment whose payload length covers the fragment and options headers only: its
    // "TCP header" lies beyond the datagram (the kernel trims it away)
    b.policy(entry(A, DIR_INGRESS, TCP, 80, 24, POLICY_ALLOW, 123));
    byte[] payload =
        Packets.concat(
            Packets.ext8(60, 0, 1, 0, 0, 0, 0x2a), // fragment: offset 0, M, id 42
            Packets.ext8(TCP, 1, 4), // destination options (PadN)
            tcp(41000, 80, SYN));
    byte[] first =
        Packets.withIpv6PayloadLength(Packets.ipv6Raw(A_IP6, B_IP6, 44, 64, payload), 16);
    assertThat(send(first)).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_CT_INVALID_HDR);
    // its later fragment (the real TCP header, to port 22) has no first to follow
    byte[] later =
        Packets.ipv6Raw(
            A_IP6,
            B_IP6,
            44,
            64,
            Packets.concat(Packets.ext8(TCP, 0, 9, 0, 0, 0, 0x2a), tcp(41000, 22, SYN)));
    assertThat(send(later)).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_FRAG_NOT_FOUND);
  }

  @Test
  void laterIpv6FragmentsFollowAFirstWithOptionsAfterTheFragmentHeader() {
    f.at(b, a);
    b.policy(entry(C, DIR_INGRESS, UDP, 53, 24, POLICY_ALLOW, 124));
    byte[] first =
        Packets.ipv6Raw(
            C_IP6,
            B_IP6,
            44,
            64,
            Packets.concat(
                Packets.ext8(60, 0, 1, 0, 0, 0, 7), Packets.ext8(UDP, 1, 4), udp(41001, 53)));
    assertThat(f.toPod(first)).isEqualTo(OK);
    byte[] later =
        Packets.ipv6Raw(
            C_IP6,
            B_IP6,
            44,
            64,
            Packets.concat(Packets.ext8(60, 0, 17, 0, 0, 0, 7), new byte[16]));
    assertThat(f.toPod(later)).isEqualTo(OK);
  }

  @Test
  void aConnectionFloodIntoAPodEvictsNoneOfItsOwnConnectionsOut() {
    PacketFixture.onOneCpu(this::floodIn);
  }

  private void floodIn() {
    // B may reach the world on 443 and admits A on 8080; its conntrack holds 256 per direction
    f.dp.resetConnections(B_ID, 256);
    b.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    b.policy(
        entry(0, DIR_EGRESS, TCP, 443, 24, POLICY_ALLOW, 125),
        entry(A, DIR_INGRESS, TCP, 8080, 24, POLICY_ALLOW, 126));
    f.at(b, a);
    assertThat(f.send(b, ipv4(B_IP, WORLD_IP, TCP, tcp(41100, 443, SYN)))).isEqualTo(OK);
    f.at(a, b);
    // A opens 20,000 connections into B, all allowed
    for (int i = 0; i < 20_000; i++) {
      send(ipv4(A_IP, B_IP, TCP, tcp(1024 + i, 8080, SYN)));
    }
    f.events();
    f.at(b, a);
    // B's own connection out still has its entry: the world's reply gets in
    assertThat(f.toPod(ipv4(WORLD_IP, B_IP, TCP, tcp(443, 41100, SYN | ACK)))).isEqualTo(OK);
  }

  @Test
  void anEchoIdentifierCannotMakeARequestLookLikeAReply() {
    a.enforce(EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS, POLICY_DENY, POLICY_DENY);
    a.policy(
        entry(0, DIR_EGRESS, ICMP, 8, 24, POLICY_ALLOW, 127),
        entry(0, DIR_EGRESS, ICMPV6, 128, 24, POLICY_ALLOW, 128));
    // A pings with identifiers that equal what a request type looks like as a port
    assertThat(send(ipv4(A_IP, WORLD_IP, ICMP, icmp(8, 0x0800)))).isEqualTo(OK);
    assertThat(send(ipv6(A_IP6, "2001:db8::9", ICMPV6, false, icmp(128, 0x8000)))).isEqualTo(OK);
    // the world's own echo requests with those identifiers are not replies
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, ICMP, icmp(8, 0x0800)))).isEqualTo(SHOT);
    assertThat(f.toPod(ipv6("2001:db8::9", A_IP6, ICMPV6, false, icmp(128, 0x8000))))
        .isEqualTo(SHOT);
    // while its replies are
    assertThat(f.toPod(ipv4(WORLD_IP, A_IP, ICMP, icmp(0, 0x0800)))).isEqualTo(OK);
  }

  @Test
  void icmpOfTheOtherFamilyIsDropped() {
    assertThat(send(ipv6(A_IP6, B_IP6, ICMP, false, icmp(0, 1)))).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_PACKET);
    assertThat(send(ipv4(A_IP, B_IP, ICMPV6, icmp(129, 1)))).isEqualTo(SHOT);
  }

  @Test
  void aPodCannotRouteThroughOthersWithARoutingHeader() {
    byte[] routed =
        Packets.ipv6Raw(
            A_IP6, B_IP6, 43, 64, Packets.concat(Packets.ext8(TCP, 4, 1), tcp(41200, 22, SYN)));
    assertThat(send(routed)).isEqualTo(SHOT);
    assertThat(lastEvent().reason()).isEqualTo(MapLayouts.DROP_INVALID_EXTHDR);
  }

  // ---- ipcache, once more: a deleted ipcache entry (the peer left) counts as a change

  @Test
  void aPeerLeavingTheIpcacheIsAChangeToo() {
    f.at(b, a);
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(41200, 22, SYN)))).isEqualTo(OK);
    f.dp.deleteIpcache(Cidr.parse(C_IP + "/32"));
    f.dp.ipcacheChanged();
    assertThat(f.toPod(ipv4(C_IP, B_IP, TCP, tcp(41200, 22, ACK)))).isEqualTo(SHOT);
    assertThat(lastEvent().srcIdentity()).isEqualTo(MapLayouts.IDENTITY_WORLD_IPV4);
  }
}
