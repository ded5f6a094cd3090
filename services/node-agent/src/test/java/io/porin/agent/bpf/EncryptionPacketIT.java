package io.porin.agent.bpf;

import static io.porin.agent.bpf.Packets.SYN;
import static io.porin.agent.bpf.Packets.TCP;
import static io.porin.agent.bpf.Packets.UDP;
import static io.porin.agent.bpf.Packets.ipv4;
import static io.porin.agent.bpf.Packets.ipv6;
import static io.porin.agent.bpf.Packets.tcp;
import static io.porin.agent.bpf.Packets.udp;
import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.Encryption;
import io.porin.core.ipam.Cidr;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Transparent encryption in the endpoint programs: a pod's packets to the pods of a WireGuard peer
 * go into the device (and their flows say encrypted); in strict mode (node-wide, or an endpoint a
 * cilium.io/encrypt policy selects) what would go to another node's pod in clear is dropped with
 * 195; a strict endpoint takes nothing from another node's pods that did not come through WireGuard
 * (a forged clear packet on the underlay included); same-node traffic is never encrypted.
 */
@Tag("privileged")
class EncryptionPacketIT {
  /** The device's ifindex as the datapath is told it (a test run redirects nowhere). */
  private static final int WG = 42;

  private static final String REMOTE_POD = "10.0.1.5";
  private static final String REMOTE_POD6 = "fd00:1::5";
  private static final int REMOTE_IDENTITY = 70003;

  private static PacketFixture f;
  private static Encryption enc;
  private PacketFixture.Ep client;
  private PacketFixture.Ep neighbour;

  @BeforeAll
  static void load() throws Exception {
    f = new PacketFixture("encryption");
    enc = f.dp.encryption();
  }

  @AfterAll
  static void unload() throws Exception {
    f.close();
  }

  @BeforeEach
  void endpoints() {
    client = f.endpoint(7, 70001, "10.0.0.1", "fd00::1", PacketFixture.IFINDEX);
    neighbour = f.endpoint(8, 70002, "10.0.0.2", "fd00::2", 55);
    int both = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    client.enforce(both, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    neighbour.enforce(both, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    f.ipcache(REMOTE_POD + "/32", REMOTE_IDENTITY);
    f.ipcache(REMOTE_POD6 + "/128", REMOTE_IDENTITY);
    f.events();
  }

  @AfterEach
  void clean() {
    enc.setMode(0, false, false);
    for (Cidr c : enc.prefixes().keySet()) {
      enc.deletePrefix(c);
    }
    f.reset();
  }

  private static void peer(String... prefixes) {
    for (String p : prefixes) {
      enc.putPrefixes(java.util.Map.of(Cidr.parse(p), true));
    }
  }

  /** Another node's pods, known, without a peer (no key yet). */
  private static void known(String... prefixes) {
    for (String p : prefixes) {
      enc.putPrefixes(java.util.Map.of(Cidr.parse(p), false));
    }
  }

  private int fromClient(byte[] frame) {
    return f.send(client, ServicePacketIT.Frame.valid(frame));
  }

  @Test
  void aPodsPacketToAPeersPodGoesIntoTheDeviceAndItsFlowIsEncrypted() {
    enc.setMode(WG, true, false);
    peer("10.0.1.0/24", "fd00:1::/64");
    assertThat(fromClient(ipv4("10.0.0.1", REMOTE_POD, TCP, tcp(40000, 80, SYN))))
        .isEqualTo(PacketFixture.REDIRECT);
    assertThat(fromClient(ipv6("fd00::1", REMOTE_POD6, UDP, false, udp(40001, 53))))
        .isEqualTo(PacketFixture.REDIRECT);
    var events = f.events();
    assertThat(events).hasSize(2);
    assertThat(events)
        .allMatch(e -> e.encrypted() && e.verdict() == MapLayouts.VERDICT_FORWARDED)
        .allMatch(e -> e.dstIdentity() == REMOTE_IDENTITY);
  }

  @Test
  void withoutStrictModeAPodOfANodeWithoutPeerIsReachedInClear() {
    enc.setMode(WG, true, false);
    // no peer prefix: host routing as without encryption (the test run has no uplink: the stack)
    assertThat(fromClient(ipv4("10.0.0.1", REMOTE_POD, TCP, tcp(40002, 80, SYN))))
        .isEqualTo(PacketFixture.OK);
    assertThat(f.events()).singleElement().matches(e -> !e.encrypted() && e.reason() == 0);
  }

  @Test
  void strictModeDropsWhatWouldLeaveInClearWith195() {
    enc.setMode(WG, true, true);
    peer("10.0.9.0/24"); // another node's pods: not the destination's
    long before = f.counter(MapLayouts.DROP_UNENCRYPTED, MapLayouts.DIR_EGRESS);
    assertThat(fromClient(ipv4("10.0.0.1", REMOTE_POD, TCP, tcp(40003, 80, SYN))))
        .isEqualTo(PacketFixture.SHOT);
    assertThat(fromClient(ipv6("fd00::1", REMOTE_POD6, UDP, false, udp(40004, 53))))
        .isEqualTo(PacketFixture.SHOT);
    assertThat(f.events())
        .hasSize(2)
        .allMatch(
            e ->
                e.reason() == MapLayouts.DROP_UNENCRYPTED
                    && e.verdict() == MapLayouts.VERDICT_DROPPED
                    && e.dstIdentity() == REMOTE_IDENTITY);
    assertThat(f.counter(MapLayouts.DROP_UNENCRYPTED, MapLayouts.DIR_EGRESS) - before).isEqualTo(2);
  }

  @Test
  void strictModeKnowsAnotherNodesPodsByPrefixEvenBeforeTheIpcacheDoes() {
    enc.setMode(WG, true, true);
    known("10.0.2.0/24");
    // 10.0.2.9: in another node's pod prefix, not (yet) in the ipcache: the world by identity
    assertThat(fromClient(ipv4("10.0.0.1", "10.0.2.9", TCP, tcp(40020, 80, SYN))))
        .isEqualTo(PacketFixture.SHOT);
    assertThat(f.events()).singleElement().matches(e -> e.reason() == MapLayouts.DROP_UNENCRYPTED);
    // without strict mode it goes in clear, as it would without encryption
    enc.setMode(WG, true, false);
    assertThat(fromClient(ipv4("10.0.0.1", "10.0.2.9", TCP, tcp(40021, 80, SYN))))
        .isEqualTo(PacketFixture.OK);
  }

  @Test
  void nodeWideStrictModeTakesNothingInClearFromAnotherNodesPods() {
    enc.setMode(WG, true, true);
    known("10.0.2.0/24");
    byte[] forged = ServicePacketIT.Frame.valid(ipv4("10.0.2.7", "10.0.0.1", UDP, udp(53, 40022)));
    assertThat(f.fromNetdev(forged))
        .as("a clear packet from the underlay")
        .isEqualTo(PacketFixture.SHOT);
    assertThat(f.events()).singleElement().matches(e -> e.reason() == MapLayouts.DROP_UNENCRYPTED);
    // a packet from the world is no pod's: it passes
    byte[] world = ServicePacketIT.Frame.valid(ipv4("8.8.4.4", "10.0.0.1", UDP, udp(53, 40023)));
    assertThat(f.fromNetdev(world)).isEqualTo(PacketFixture.REDIRECT);
  }

  @Test
  void strictModeLeavesTheWorldAndTheNodesAlone() {
    enc.setMode(WG, true, true);
    // the world (no ipcache entry) and a node (host identity) are not pod traffic between nodes
    f.ipcache("192.168.50.11/32", 6);
    assertThat(fromClient(ipv4("10.0.0.1", "8.8.8.8", UDP, udp(40005, 53))))
        .isEqualTo(PacketFixture.OK);
    assertThat(fromClient(ipv4("10.0.0.1", "192.168.50.11", TCP, tcp(40006, 22, SYN))))
        .isEqualTo(PacketFixture.OK);
    assertThat(f.events()).noneMatch(e -> e.reason() == MapLayouts.DROP_UNENCRYPTED);
  }

  @Test
  void anEndpointAPolicyWantsEncryptedNeverSendsInClearEvenWithEncryptionOff() {
    int both = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    client.enforce(
        both | MapLayouts.EP_ENCRYPT_STRICT, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    assertThat(fromClient(ipv4("10.0.0.1", REMOTE_POD, TCP, tcp(40007, 80, SYN))))
        .isEqualTo(PacketFixture.SHOT);
    assertThat(f.events()).anyMatch(e -> e.reason() == MapLayouts.DROP_UNENCRYPTED);
    // with a peer it goes through the device
    enc.setMode(WG, true, false);
    peer("10.0.1.0/24");
    assertThat(fromClient(ipv4("10.0.0.1", REMOTE_POD, TCP, tcp(40008, 80, SYN))))
        .isEqualTo(PacketFixture.REDIRECT);
    assertThat(f.events()).singleElement().matches(e -> e.encrypted());
  }

  @Test
  void aStrictEndpointTakesNothingInClearFromAnotherNodesPods() {
    int both = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    client.enforce(
        both | MapLayouts.EP_ENCRYPT_STRICT, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    enc.setMode(WG, true, false);
    // a clear packet "from" another node's pod on the underlay (forged, or from a node sending in
    // clear): dropped at the uplink
    byte[] clear =
        ServicePacketIT.Frame.valid(ipv4(REMOTE_POD, "10.0.0.1", TCP, tcp(80, 40009, SYN)));
    assertThat(f.fromNetdev(clear)).isEqualTo(PacketFixture.SHOT);
    // the same through the stack (not from the WireGuard device): dropped at the pod
    assertThat(f.toPod(clear)).isEqualTo(PacketFixture.SHOT);
    assertThat(f.events())
        .hasSize(2)
        .allMatch(
            e ->
                e.reason() == MapLayouts.DROP_UNENCRYPTED
                    && e.srcIdentity() == REMOTE_IDENTITY
                    && e.direction() == MapLayouts.DIR_INGRESS);
    // what came out of the device passes, its flow encrypted
    TestRun.Result viaWg = TestRun.run(f.dp.programFd(LinuxDatapath.PROGRAM_TO_POD), clear, 1, WG);
    assertThat(viaWg.retval()).isEqualTo(PacketFixture.OK);
    assertThat(f.events()).singleElement().matches(e -> e.encrypted() && e.reason() == 0);
  }

  @Test
  void aPacketFromTheDeviceToAnOrdinaryPodIsMarkedEncrypted() {
    enc.setMode(WG, true, false);
    byte[] in = ServicePacketIT.Frame.valid(ipv4(REMOTE_POD, "10.0.0.1", UDP, udp(53, 40010)));
    assertThat(TestRun.run(f.dp.programFd(LinuxDatapath.PROGRAM_TO_POD), in, 1, WG).retval())
        .isEqualTo(PacketFixture.OK);
    assertThat(f.events()).singleElement().matches(DatapathEvent::encrypted);
    // a new connection in clear (from another interface): not
    byte[] clear = ServicePacketIT.Frame.valid(ipv4(REMOTE_POD, "10.0.0.1", UDP, udp(54, 40011)));
    assertThat(TestRun.run(f.dp.programFd(LinuxDatapath.PROGRAM_TO_POD), clear, 1, 3).retval())
        .isEqualTo(PacketFixture.OK);
    assertThat(f.events()).singleElement().matches(e -> !e.encrypted() && e.reason() == 0);
  }

  @Test
  void sameNodeTrafficIsNeverEncrypted() {
    enc.setMode(WG, true, true);
    peer("10.0.0.0/24"); // even were this node's own pods listed
    assertThat(fromClient(ipv4("10.0.0.1", "10.0.0.2", TCP, tcp(40012, 80, SYN))))
        .as("straight into the neighbour")
        .isEqualTo(PacketFixture.REDIRECT);
    assertThat(f.events()).isNotEmpty().noneMatch(DatapathEvent::encrypted);
  }
}
