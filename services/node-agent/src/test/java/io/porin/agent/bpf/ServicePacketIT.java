package io.porin.agent.bpf;

import static io.porin.agent.bpf.Packets.ACK;
import static io.porin.agent.bpf.Packets.SYN;
import static io.porin.agent.bpf.Packets.TCP;
import static io.porin.agent.bpf.Packets.UDP;
import static io.porin.agent.bpf.Packets.ipv4;
import static io.porin.agent.bpf.Packets.ipv6;
import static io.porin.agent.bpf.Packets.tcp;
import static io.porin.agent.bpf.Packets.udp;
import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.service.ServiceSync;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Per-packet service translation in tc (what no socket hook translated): a pod's packets to a
 * cluster IP reach a backend with checksums intact, replies come back from the cluster IP, a
 * service without backends drops (reason 158, an event), node ports from outside reach local
 * backends directly and other nodes' backends through this node (source NAT), and their replies go
 * back to the client from the node port.
 */
@Tag("privileged")
class ServicePacketIT {
  private static final String NODE = "192.168.50.10";
  private static final String VIP = "10.96.0.60";
  private static final String VIP6 = "fd00:96::60";
  private static final String OUTSIDE = "172.16.0.9";
  private static final String REMOTE_BACKEND = "10.0.1.5";

  private static PacketFixture f;
  private static ServiceSync sync;
  private PacketFixture.Ep client;
  private PacketFixture.Ep backend;

  @BeforeAll
  static void load() throws Exception {
    f = new PacketFixture("services");
    sync = new ServiceSync(f.dp.loadBalancer(), List.of(NODE));
  }

  @AfterAll
  static void unload() throws Exception {
    sync.reset(List.of());
    f.close();
  }

  @BeforeEach
  void endpoints() {
    client = f.endpoint(7, 70001, "10.0.0.1", "fd00::1", PacketFixture.IFINDEX);
    backend = f.endpoint(8, 70002, "10.0.0.2", "fd00::2", 55);
    // both enforce, allowing by default (the policy test below narrows the backend's ingress)
    int both = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    client.enforce(both, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    backend.enforce(both, MapLayouts.POLICY_ALLOW, MapLayouts.POLICY_ALLOW);
    f.ipcache(REMOTE_BACKEND + "/32", 70003);
    f.events();
  }

  @AfterEach
  void clean() {
    sync.reset(List.of());
    f.reset();
  }

  private static ServiceRecord.Backend be(String pod, int port, String... ips) {
    return new ServiceRecord.Backend(
        pod, "n", List.of(ips), ServiceRecord.State.ACTIVE, List.of(port));
  }

  private static ServiceRecord svc(
      int port, Protocol proto, int nodePort, int affinity, ServiceRecord.Backend... backends) {
    return new ServiceRecord(
        "t",
        "web",
        nodePort == 0 ? "ClusterIP" : "NodePort",
        List.of(VIP, VIP6),
        false,
        List.of(new ServiceRecord.Port("p", port, proto, nodePort)),
        affinity,
        "random",
        List.of(backends));
  }

  private static TestRun.Result run(String program, byte[] frame) {
    return TestRun.run(f.dp.programFd(program), frame, 1);
  }

  /** As the client pod sends it, with a valid L4 checksum. */
  private byte[] fromClient(byte[] frame) {
    return fromClientRaw(Frame.valid(frame));
  }

  private byte[] fromClientRaw(byte[] frame) {
    return Packets.withMacs(
        frame, PacketFixture.mac(client.podMac), PacketFixture.mac(client.hostMac));
  }

  /** An IPv4 frame with a valid L4 checksum. */
  private static byte[] v4(String src, String dst, int protocol, byte[] l4) {
    return Frame.valid(ipv4(src, dst, protocol, l4));
  }

  @Test
  void aPodsPacketToAClusterIpIsTranslatedAndTheReplyComesFromTheClusterIp() throws Exception {
    sync.reset(List.of(svc(80, Protocol.TCP, 0, 0, be("b", 8080, "10.0.0.2", "fd00::2"))));
    TestRun.Result out =
        run(
            LinuxDatapath.PROGRAM_FROM_POD,
            fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(40000, 80, SYN))));
    assertThat(out.retval())
        .as("to the local backend's interface")
        .isEqualTo(PacketFixture.REDIRECT);
    Frame syn = Frame.of(out.data());
    assertThat(syn.dst()).isEqualTo("10.0.0.2");
    assertThat(syn.dport()).isEqualTo(8080);
    assertThat(syn.checksumsValid()).as("IPv4 and TCP checksums").isTrue();
    var ev = f.events();
    assertThat(ev).anyMatch(e -> e.revNat() != 0 && e.destinationPort() == 8080);

    // the backend answers: its source becomes the cluster IP again
    f.at(backend, client);
    byte[] reply =
        Packets.withMacs(
            v4("10.0.0.2", "10.0.0.1", TCP, tcp(8080, 40000, SYN | ACK)),
            PacketFixture.mac(backend.podMac),
            PacketFixture.mac(backend.hostMac));
    TestRun.Result back = run(LinuxDatapath.PROGRAM_FROM_POD, reply);
    assertThat(back.retval()).isEqualTo(PacketFixture.REDIRECT);
    Frame r = Frame.of(back.data());
    assertThat(r.src()).isEqualTo(VIP);
    assertThat(r.sport()).isEqualTo(80);
    assertThat(r.checksumsValid()).isTrue();
  }

  @Test
  void policyMeetsTheBackendAndTheClientsIdentityAfterTranslation() throws Exception {
    sync.reset(List.of(svc(80, Protocol.TCP, 0, 0, be("b", 8080, "10.0.0.2"))));
    int both = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    backend.enforce(both, MapLayouts.POLICY_DENY, MapLayouts.POLICY_ALLOW);
    int rc =
        run(
                LinuxDatapath.PROGRAM_FROM_POD,
                fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(40100, 80, SYN))))
            .retval();
    assertThat(rc).isEqualTo(PacketFixture.SHOT);
    assertThat(f.events())
        .anyMatch(
            e ->
                e.reason() == MapLayouts.DROP_POLICY
                    && e.endpointId() == 8
                    && e.srcIdentity() == 70001
                    && e.destinationPort() == 8080);
  }

  @Test
  void aCraftedFragmentOrAFakeReplyFromTheClusterIpGetsNowhere() throws Exception {
    sync.reset(List.of(svc(53, Protocol.UDP, 0, 0, be("b", 5353, "10.0.0.2"))));
    // a first fragment to a frontend: its later fragments could not follow the translation
    byte[] first = Packets.ipv4("10.0.0.1", VIP, UDP, 0x2000, 77, udp(40200, 53));
    assertThat(run(LinuxDatapath.PROGRAM_FROM_POD, fromClientRaw(first)).retval())
        .isEqualTo(PacketFixture.SHOT);
    assertThat(f.events()).anyMatch(e -> e.reason() == MapLayouts.DROP_FRAG_NOSUPPORT);
    // a pod sending "from" the cluster IP (a forged reply to another pod) is a spoofed source
    byte[] forged =
        Packets.withMacs(
            Frame.valid(ipv4(VIP, "10.0.0.2", UDP, udp(53, 40201))),
            PacketFixture.mac(client.podMac),
            PacketFixture.mac(client.hostMac));
    assertThat(run(LinuxDatapath.PROGRAM_FROM_POD, forged).retval()).isEqualTo(PacketFixture.SHOT);
    assertThat(f.events()).anyMatch(e -> e.reason() == MapLayouts.DROP_INVALID_SOURCE_IP);
  }

  @Test
  void ipv6AndUdpWithoutChecksumAreTranslatedToo() throws Exception {
    sync.reset(List.of(svc(53, Protocol.UDP, 0, 0, be("b", 5353, "10.0.0.2", "fd00::2"))));
    TestRun.Result six =
        run(
            LinuxDatapath.PROGRAM_FROM_POD,
            fromClient(ipv6("fd00::1", VIP6, UDP, false, udp(40001, 53))));
    Frame f6 = Frame.of(six.data());
    assertThat(f6.dst()).isEqualTo("fd00:0:0:0:0:0:0:2");
    assertThat(f6.dport()).isEqualTo(5353);
    assertThat(f6.checksumsValid()).isTrue();
    // UDP over IPv4 without a checksum keeps having none
    byte[] v4 = ipv4("10.0.0.1", VIP, UDP, udp(40002, 53));
    v4[14 + 20 + 6] = 0; // no checksum
    v4[14 + 20 + 7] = 0;
    Frame f4 = Frame.of(run(LinuxDatapath.PROGRAM_FROM_POD, fromClientRaw(v4)).data());
    assertThat(f4.dst()).isEqualTo("10.0.0.2");
    assertThat(f4.l4Checksum()).isZero();
  }

  @Test
  void aServiceWithoutBackendsDropsWithReason158() throws Exception {
    sync.reset(List.of(svc(80, Protocol.TCP, 0, 0)));
    long before = f.counter(MapLayouts.DROP_NO_SERVICE, MapLayouts.DIR_EGRESS);
    int rc =
        run(
                LinuxDatapath.PROGRAM_FROM_POD,
                fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(40003, 80, SYN))))
            .retval();
    assertThat(rc).isEqualTo(PacketFixture.SHOT);
    assertThat(f.counter(MapLayouts.DROP_NO_SERVICE, MapLayouts.DIR_EGRESS)).isEqualTo(before + 1);
    assertThat(f.events()).anyMatch(e -> e.reason() == MapLayouts.DROP_NO_SERVICE);
  }

  @Test
  void aConnectionKeepsItsBackendAndAffinityKeepsAClients() throws Exception {
    sync.reset(
        List.of(
            svc(
                80,
                Protocol.TCP,
                0,
                0,
                be("b1", 8081, "10.0.1.11"),
                be("b2", 8082, "10.0.1.12"),
                be("b3", 8083, "10.0.1.13"))));
    Set<Integer> ports = new HashSet<>();
    for (int sp = 41000; sp < 41030; sp++) {
      byte[] syn = fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(sp, 80, SYN)));
      int first = Frame.of(run(LinuxDatapath.PROGRAM_FROM_POD, syn).data()).dport();
      byte[] ack = fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(sp, 80, ACK)));
      assertThat(Frame.of(run(LinuxDatapath.PROGRAM_FROM_POD, ack).data()).dport())
          .as("every packet of a connection to the same backend")
          .isEqualTo(first);
      ports.add(first);
    }
    assertThat(ports).as("connections spread").hasSizeGreaterThan(1);
    sync.reset(
        List.of(
            svc(
                80,
                Protocol.TCP,
                0,
                600,
                be("b1", 8081, "10.0.1.11"),
                be("b2", 8082, "10.0.1.12"),
                be("b3", 8083, "10.0.1.13"))));
    ports.clear();
    for (int sp = 42000; sp < 42020; sp++) {
      byte[] syn = fromClient(ipv4("10.0.0.1", VIP, TCP, tcp(sp, 80, SYN)));
      ports.add(Frame.of(run(LinuxDatapath.PROGRAM_FROM_POD, syn).data()).dport());
    }
    assertThat(ports).as("ClientIP affinity").hasSize(1);
  }

  @Test
  void aNodePortFromOutsideReachesALocalBackendAndTheReplyComesFromTheNodePort() throws Exception {
    sync.reset(List.of(svc(80, Protocol.TCP, 30080, 0, be("b", 8080, "10.0.0.2"))));
    f.at(backend, client); // the backend at the test interface
    TestRun.Result in =
        run(LinuxDatapath.PROGRAM_FROM_NETDEV, v4(OUTSIDE, NODE, TCP, tcp(45000, 30080, SYN)));
    Frame syn = Frame.of(in.data());
    assertThat(in.retval()).isEqualTo(PacketFixture.REDIRECT);
    assertThat(syn.src()).as("the client's address stays").isEqualTo(OUTSIDE);
    assertThat(syn.dst()).isEqualTo("10.0.0.2");
    assertThat(syn.dport()).isEqualTo(8080);
    assertThat(syn.checksumsValid()).isTrue();
    byte[] reply =
        Packets.withMacs(
            v4("10.0.0.2", OUTSIDE, TCP, tcp(8080, 45000, SYN | ACK)),
            PacketFixture.mac(backend.podMac),
            PacketFixture.mac(backend.hostMac));
    Frame back = Frame.of(run(LinuxDatapath.PROGRAM_FROM_POD, reply).data());
    assertThat(back.src()).isEqualTo(NODE);
    assertThat(back.sport()).isEqualTo(30080);
    assertThat(back.checksumsValid()).isTrue();
  }

  @Test
  void aNodePortToAnotherNodesBackendIsSourceTranslatedAndItsReplyReturned() throws Exception {
    sync.reset(List.of(svc(80, Protocol.TCP, 30081, 0, be("r", 9090, REMOTE_BACKEND))));
    Frame out =
        Frame.of(
            run(LinuxDatapath.PROGRAM_FROM_NETDEV, v4(OUTSIDE, NODE, TCP, tcp(46000, 30081, SYN)))
                .data());
    assertThat(out.dst()).isEqualTo(REMOTE_BACKEND);
    assertThat(out.dport()).isEqualTo(9090);
    assertThat(out.src()).as("from this node").isEqualTo(NODE);
    assertThat(out.sport()).isBetween(MapLayouts.LB_NAT_PORT_MIN, MapLayouts.LB_NAT_PORT_MAX);
    assertThat(out.checksumsValid()).isTrue();
    // the same connection keeps its NAT port
    Frame again =
        Frame.of(
            run(LinuxDatapath.PROGRAM_FROM_NETDEV, v4(OUTSIDE, NODE, TCP, tcp(46000, 30081, ACK)))
                .data());
    assertThat(again.sport()).isEqualTo(out.sport());
    Frame reply =
        Frame.of(
            run(
                    LinuxDatapath.PROGRAM_FROM_NETDEV,
                    v4(REMOTE_BACKEND, NODE, TCP, tcp(9090, out.sport(), SYN | ACK)))
                .data());
    assertThat(reply.src()).isEqualTo(NODE);
    assertThat(reply.sport()).isEqualTo(30081);
    assertThat(reply.dst()).isEqualTo(OUTSIDE);
    assertThat(reply.dport()).isEqualTo(46000);
    assertThat(reply.checksumsValid()).isTrue();
    // a packet to the NAT port from anyone but that backend is not let in as a reply
    Frame stranger =
        Frame.of(
            run(
                    LinuxDatapath.PROGRAM_FROM_NETDEV,
                    v4("10.0.1.99", NODE, TCP, tcp(9090, out.sport(), ACK)))
                .data());
    assertThat(stranger.dst()).isEqualTo(NODE);
  }

  /** A frame's addresses, ports and checksums (IPv4 header, TCP/UDP with the pseudo header). */
  record Frame(byte[] b) {
    static Frame of(byte[] b) {
      return new Frame(b);
    }

    boolean v6() {
      return ((b[12] & 0xFF) << 8 | (b[13] & 0xFF)) == 0x86DD;
    }

    int l4() {
      return v6() ? 14 + 40 : 14 + (b[14] & 0xF) * 4;
    }

    int protocol() {
      return v6() ? b[14 + 6] & 0xFF : b[14 + 9] & 0xFF;
    }

    String addr(int off, int len) {
      try {
        return InetAddress.getByAddress(Arrays.copyOfRange(b, off, off + len)).getHostAddress();
      } catch (java.net.UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }

    String src() {
      return v6() ? addr(14 + 8, 16) : addr(14 + 12, 4);
    }

    String dst() {
      return v6() ? addr(14 + 24, 16) : addr(14 + 16, 4);
    }

    int sport() {
      return u16(l4());
    }

    int dport() {
      return u16(l4() + 2);
    }

    int l4Checksum() {
      return u16(l4() + (protocol() == TCP ? 16 : 6));
    }

    int u16(int off) {
      return (b[off] & 0xFF) << 8 | (b[off + 1] & 0xFF);
    }

    /** The frame with its L4 checksum computed (Packets leaves it zero). */
    static byte[] valid(byte[] frame) {
      Frame f = new Frame(frame.clone());
      int off = f.l4() + (f.protocol() == TCP ? 16 : 6);
      f.b[off] = 0;
      f.b[off + 1] = 0;
      int len = f.b.length - f.l4();
      long s = f.sum(f.l4(), len) + (f.v6() ? f.sum(14 + 8, 32) : f.sum(14 + 12, 8));
      s += f.protocol() + len;
      int c = ~fold(s) & 0xFFFF;
      f.b[off] = (byte) (c >> 8);
      f.b[off + 1] = (byte) c;
      return f.b;
    }

    boolean checksumsValid() {
      if (!v6() && fold(sum(14, (b[14] & 0xF) * 4)) != 0xFFFF) {
        return false;
      }
      int len = b.length - l4();
      long s = sum(l4(), len);
      if (v6()) {
        s += sum(14 + 8, 32);
      } else {
        s += sum(14 + 12, 8);
      }
      s += protocol() + len;
      return fold(s) == 0xFFFF;
    }

    long sum(int off, int len) {
      long s = 0;
      for (int i = 0; i < len; i += 2) {
        int hi = b[off + i] & 0xFF;
        int lo = i + 1 < len ? b[off + i + 1] & 0xFF : 0;
        s += hi << 8 | lo;
      }
      return s;
    }

    static int fold(long s) {
      while ((s >> 16) != 0) {
        s = (s & 0xFFFF) + (s >> 16);
      }
      return (int) s;
    }
  }
}
