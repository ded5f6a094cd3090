package io.porin.agent.bpf;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.testing.NetnsCluster;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A pod that sends VLAN-tagged frames (the kernel hands tc the tag as metadata, untagged, and the
 * fast path would redirect it tag included) is refused: VLAN_FILTERED (182). Two network namespaces
 * this test creates (a node and a pod, joined by a veth pair with a VLAN device on the pod side),
 * removed by name afterwards; nothing in the root namespace is touched.
 */
@Tag("privileged")
class VlanIT {
  private static final String NODE = "porin-vlan-" + ProcessHandle.current().pid() + "-n";
  private static final String POD = "porin-vlan-" + ProcessHandle.current().pid() + "-p";
  private static final Path PINS =
      Bpffs.ROOT.resolve("porin-test-vlan-" + ProcessHandle.current().pid());
  private static final int CLONE_NEWNET = 0x40000000;
  private static LinuxDatapath dp;

  @BeforeAll
  static void setUp() throws Exception {
    dp = LinuxDatapath.open(PINS);
    sh("ip", "netns", "add", NODE);
    sh("ip", "netns", "add", POD);
    node("ip", "link", "add", "h0", "type", "veth", "peer", "name", "eth0", "netns", POD);
    node("ip", "link", "set", "h0", "up");
    node("ip", "addr", "add", "10.77.0.1/24", "dev", "h0");
    pod("ip", "link", "set", "eth0", "up");
    pod("ip", "addr", "add", "10.77.0.2/24", "dev", "eth0");
  }

  @AfterAll
  static void tearDown() throws Exception {
    try {
      NetnsCluster.run(List.of("ip", "netns", "del", POD));
      NetnsCluster.run(List.of("ip", "netns", "del", NODE));
      if (dp != null) {
        dp.close();
      }
    } finally {
      Bpffs.removeTree(PINS);
    }
  }

  @Test
  void taggedFramesFromAPodAreDroppedAndCounted() throws Exception {
    // (nsenter keeps the root namespace's /sys: ask ip)
    String h0 = node("ip", "-o", "link", "show", "dev", "h0");
    int ifindex = Integer.parseInt(h0.substring(0, h0.indexOf(':')).strip());
    String hostMac = mac(h0);
    String podMac = mac(pod("ip", "-o", "link", "show", "dev", "eth0"));
    dp.resetConnections(9, 1024);
    dp.writePolicy(9, 0, PolicyContent.EMPTY);
    dp.putEndpoint(
        ifindex,
        new EndpointConfig(9, 2000, 1, 0, 0, 0, 0, 0, 0, podMac, hostMac, "10.77.0.2", null));
    inNamespace(NODE, () -> dp.attach(ifindex));
    byte[] frame =
        Packets.withMacs(
            Packets.ipv4("10.77.0.2", "10.77.0.1", Packets.ICMP, Packets.icmp(8, 1)),
            PacketFixture.mac(podMac),
            PacketFixture.mac(hostMac));
    // the same frame with an 802.1Q tag (VLAN 100) after the MACs
    byte[] tagged = new byte[frame.length + 4];
    System.arraycopy(frame, 0, tagged, 0, 12);
    tagged[12] = (byte) 0x81;
    tagged[14] = 0;
    tagged[15] = 100;
    System.arraycopy(frame, 12, tagged, 16, frame.length - 12);

    // tagged: dropped and counted as VLAN_FILTERED, before conntrack sees it
    long dropped = counter(MapLayouts.DROP_VLAN_FILTERED);
    inNamespace(POD, () -> sendRaw("eth0", tagged));
    assertThat(counter(MapLayouts.DROP_VLAN_FILTERED)).isEqualTo(dropped + 1);
    assertThat(dp.connections(9)).noneMatch(c -> c.protocol() == Packets.ICMP);
    // untagged, the same frame is forwarded (nothing is enforced on this endpoint)
    inNamespace(POD, () -> sendRaw("eth0", frame));
    counter(0);
    assertThat(dp.connections(9))
        .anyMatch(c -> c.protocol() == Packets.ICMP && c.destination().equals("10.77.0.1"));
  }

  private static String mac(String ipLink) {
    int i = ipLink.indexOf("link/ether ");
    return ipLink.substring(i + 11, i + 28);
  }

  private static long counter(int reason) throws InterruptedException {
    Thread.sleep(200); // the frame crosses the veth asynchronously (backlog)
    return dp.counters().stream()
        .filter(c -> c.reason() == reason && c.direction() == MapLayouts.DIR_EGRESS)
        .mapToLong(c -> c.packets())
        .sum();
  }

  /** Sends one raw Ethernet frame out of an interface (AF_PACKET, as a pod with CAP_NET_RAW). */
  private static void sendRaw(String ifname, byte[] frame) {
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) SOCKET.invokeExact(17, 3, 0); // AF_PACKET, SOCK_RAW, no protocol to receive
      if (fd < 0) {
        throw new IllegalStateException("socket(AF_PACKET) failed");
      }
      int ifindex = (int) IF_NAMETOINDEX.invokeExact(arena.allocateFrom(ifname));
      var sll = arena.allocate(20);
      sll.set(ValueLayout.JAVA_SHORT, 0, (short) 17);
      sll.set(ValueLayout.JAVA_INT, 4, ifindex);
      sll.set(ValueLayout.JAVA_BYTE, 11, (byte) 6);
      long sent =
          (long)
              SENDTO.invokeExact(
                  fd,
                  arena.allocateFrom(ValueLayout.JAVA_BYTE, frame),
                  (long) frame.length,
                  0,
                  sll,
                  20);
      int ignored = (int) CLOSE.invokeExact(fd);
      if (sent != frame.length) {
        throw new IllegalStateException("sendto sent " + sent + " of " + frame.length);
      }
    } catch (RuntimeException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static final MethodHandle SOCKET =
      libc("socket", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
  private static final MethodHandle CLOSE = libc("close", ValueLayout.JAVA_INT);
  private static final MethodHandle IF_NAMETOINDEX = libc("if_nametoindex", ValueLayout.ADDRESS);
  private static final MethodHandle SENDTO =
      Linker.nativeLinker()
          .downcallHandle(
              Linker.nativeLinker().defaultLookup().find("sendto").orElseThrow(),
              FunctionDescriptor.of(
                  ValueLayout.JAVA_LONG,
                  ValueLayout.JAVA_INT,
                  ValueLayout.ADDRESS,
                  ValueLayout.JAVA_LONG,
                  ValueLayout.JAVA_INT,
                  ValueLayout.ADDRESS,
                  ValueLayout.JAVA_INT));

  private static List<String> nsenter(String ns, String... argv) {
    List<String> cmd =
        new java.util.ArrayList<>(List.of("nsenter", "--net=" + NetnsCluster.netnsPath(ns)));
    cmd.addAll(List.of(argv));
    return cmd;
  }

  private static String sh(String... argv) {
    NetnsCluster.Result r = NetnsCluster.run(List.of(argv));
    assertThat(r.exitCode()).as(String.join(" ", argv) + ": " + r.output()).isZero();
    return r.output();
  }

  private static String node(String... argv) {
    return sh(nsenter(NODE, argv).toArray(String[]::new));
  }

  private static String pod(String... argv) {
    return sh(nsenter(POD, argv).toArray(String[]::new));
  }

  /** Runs {@code work} on a thread of its own inside a network namespace (setns is per thread). */
  private static void inNamespace(String ns, Runnable work) throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread t =
        Thread.ofPlatform()
            .start(
                () -> {
                  try (Arena arena = Arena.ofConfined()) {
                    int fd =
                        (int) OPEN.invokeExact(arena.allocateFrom(NetnsCluster.netnsPath(ns)), 0);
                    if (fd < 0 || (int) SETNS.invokeExact(fd, CLONE_NEWNET) != 0) {
                      throw new IllegalStateException("cannot enter " + ns);
                    }
                    work.run();
                  } catch (Throwable e) {
                    failure.set(e);
                  }
                });
    t.join();
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
  }

  private static final MethodHandle SETNS =
      libc("setns", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
  private static final MethodHandle OPEN = libc("open", ValueLayout.ADDRESS, ValueLayout.JAVA_INT);

  private static MethodHandle libc(String name, ValueLayout... args) {
    Linker linker = Linker.nativeLinker();
    return linker.downcallHandle(
        linker.defaultLookup().find(name).orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, args));
  }
}
