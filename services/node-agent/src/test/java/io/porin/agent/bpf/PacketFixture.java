package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_EGRESS;
import static io.porin.agent.bpf.MapLayouts.EP_ENFORCE_INGRESS;
import static io.porin.agent.bpf.MapLayouts.POLICY_DENY;

import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The compiled datapath loaded for packet tests (BPF_PROG_TEST_RUN: root, no interface, namespace
 * or traffic touched), with endpoints to run packets as. The test run gives every packet the
 * loopback device, so the endpoint that sends or receives sits at ifindex 1; {@link #at} moves
 * another endpoint there (conntrack follows the endpoint id, not the ifindex). Maps are pinned
 * under a directory of this fixture only, removed by {@link #close}.
 */
final class PacketFixture implements AutoCloseable {
  static final int OK = 0;
  static final int SHOT = 2;
  static final int REDIRECT = 7;
  static final int IFINDEX = 1;

  /** A test endpoint: its id, identity, addresses and MACs, and its current map settings. */
  final class Ep {
    final int id;
    final int identity;
    final String ipv4;
    final String ipv6;
    final String podMac;
    final String hostMac;
    int ifindex;
    int flags = EP_ENFORCE_INGRESS | EP_ENFORCE_EGRESS;
    int ingressDefault = POLICY_DENY;
    int egressDefault = POLICY_DENY;
    int slot;
    int revision;
    String sourceIpv4;

    Ep(int id, int identity, String ipv4, String ipv6, String podMac, String hostMac, int ifindex) {
      this.id = id;
      this.identity = identity;
      this.ipv4 = ipv4;
      this.ipv6 = ipv6;
      this.podMac = podMac;
      this.hostMac = hostMac;
      this.ifindex = ifindex;
    }

    EndpointConfig config() {
      return new EndpointConfig(
          id,
          identity,
          revision,
          slot,
          flags,
          ingressDefault,
          egressDefault,
          900 + id,
          910 + id,
          podMac,
          hostMac,
          sourceIpv4 != null ? sourceIpv4 : ipv4,
          ipv6);
    }

    /** Writes the endpoint's map value where it sits now. */
    Ep put() {
      dp.putEndpoint(ifindex, config());
      return this;
    }

    /** A new policy, as the agent writes one: the idle slot, then a switch with a new revision. */
    @SafeVarargs
    final Ep policy(Map.Entry<PolicyKey, PolicyValue>... entries) {
      return policy(new PolicyContent(Map.ofEntries(entries), Map.of(), Map.of()));
    }

    Ep policy(PolicyContent content) {
      slot ^= 1;
      dp.writePolicy(id, slot, content);
      revision = ++revisions;
      return put();
    }

    /** Enforcement flags and defaults (a revision bump, as a policy change is). */
    Ep enforce(int newFlags, int ingress, int egress) {
      flags = newFlags;
      ingressDefault = ingress;
      egressDefault = egress;
      revision = ++revisions;
      return put();
    }
  }

  final LinuxDatapath dp;
  private final Path pins;
  private final RingBufferReader reader;
  private final ConcurrentLinkedQueue<DatapathEvent> events = new ConcurrentLinkedQueue<>();
  private final List<Ep> endpoints = new ArrayList<>();
  private int revisions;

  PacketFixture(String name) throws Exception {
    pins = Bpffs.ROOT.resolve("porin-test-" + name + "-" + ProcessHandle.current().pid());
    dp = LinuxDatapath.open(pins);
    reader = dp.events(3_600_000, b -> events.add(DatapathEvent.decode(b)));
  }

  /**
   * A fresh endpoint with its own (empty) connection maps; its addresses are local (the fast path
   * finds it) and in the ipcache with its identity.
   */
  Ep endpoint(int id, int identity, String ipv4, String ipv6, int ifindex) {
    String podMac = String.format("02:00:00:00:%02x:02", id);
    String hostMac = String.format("02:00:00:00:%02x:01", id);
    if (ifindex == IFINDEX) {
      podMac = "02:00:00:00:00:02"; // Packets.POD_MAC
      hostMac = "02:00:00:00:00:01";
    }
    Ep e = new Ep(id, identity, ipv4, ipv6, podMac, hostMac, ifindex);
    dp.forgetEndpoint(id);
    dp.resetConnections(id, 1024);
    e.revision = ++revisions;
    e.put();
    e.policy();
    ipcache(ipv4 + "/32", identity);
    dp.putLocalAddress(Cidr.Family.IPV4, ip(ipv4), ifindex);
    if (ipv6 != null) {
      ipcache(ipv6 + "/128", identity);
      dp.putLocalAddress(Cidr.Family.IPV6, ip(ipv6), ifindex);
    }
    endpoints.add(e);
    return e;
  }

  /** Puts {@code e} at ifindex 1 (where test runs happen) and {@code other} where e was. */
  void at(Ep e, Ep other) {
    int was = e.ifindex;
    e.ifindex = IFINDEX;
    other.ifindex = was;
    e.put();
    other.put();
    for (Ep x : List.of(e, other)) {
      dp.putLocalAddress(Cidr.Family.IPV4, ip(x.ipv4), x.ifindex);
      if (x.ipv6 != null) {
        dp.putLocalAddress(Cidr.Family.IPV6, ip(x.ipv6), x.ifindex);
      }
    }
  }

  /**
   * Runs {@code work} with the calling thread pinned to CPU 0. BPF_PROG_TEST_RUN runs on the
   * caller's CPU, and the kernel's LRU maps keep new entries on a per-CPU list until that CPU
   * allocates again: a flood meant to evict an entry must run on the CPU that inserted it.
   */
  static void onOneCpu(Runnable work) {
    long[] saved = new long[16];
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      var mask = arena.allocate(128);
      int rc = (int) SCHED_GETAFFINITY.invokeExact(0, 128L, mask);
      if (rc != 0) {
        throw new IllegalStateException("sched_getaffinity: " + rc);
      }
      for (int i = 0; i < 16; i++) {
        saved[i] = mask.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i);
      }
      var one = arena.allocate(128);
      one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1L);
      rc = (int) SCHED_SETAFFINITY.invokeExact(0, 128L, one);
      if (rc != 0) {
        throw new IllegalStateException("sched_setaffinity: " + rc);
      }
      try {
        work.run();
      } finally {
        int ignored = (int) SCHED_SETAFFINITY.invokeExact(0, 128L, mask);
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static final java.lang.invoke.MethodHandle SCHED_SETAFFINITY =
      affinity("sched_setaffinity");
  private static final java.lang.invoke.MethodHandle SCHED_GETAFFINITY =
      affinity("sched_getaffinity");

  private static java.lang.invoke.MethodHandle affinity(String name) {
    var linker = java.lang.foreign.Linker.nativeLinker();
    return linker.downcallHandle(
        linker.defaultLookup().find(name).orElseThrow(),
        java.lang.foreign.FunctionDescriptor.of(
            java.lang.foreign.ValueLayout.JAVA_INT,
            java.lang.foreign.ValueLayout.JAVA_INT,
            java.lang.foreign.ValueLayout.JAVA_LONG,
            java.lang.foreign.ValueLayout.ADDRESS));
  }

  void ipcache(String prefix, int identity) {
    dp.putIpcache(Map.of(Cidr.parse(prefix), identity));
  }

  /** Runs a frame through the pod's egress (tc ingress of the host side). */
  int fromPod(byte[] frame) {
    return TestRun.run(dp.programFd(LinuxDatapath.PROGRAM_FROM_POD), frame, 1).retval();
  }

  /** As {@link #fromPod}, the frame's MACs set as the pod at ifindex 1 ({@code e}) sends it. */
  int send(Ep e, byte[] frame) {
    return fromPod(Packets.withMacs(frame, mac(e.podMac), mac(e.hostMac)));
  }

  static byte[] mac(String text) {
    String[] p = text.split(":");
    byte[] b = new byte[6];
    for (int i = 0; i < 6; i++) {
      b[i] = (byte) Integer.parseInt(p[i], 16);
    }
    return b;
  }

  /** Runs a frame through a node uplink's ingress (from another node). */
  int fromNetdev(byte[] frame) {
    return TestRun.run(dp.programFd(LinuxDatapath.PROGRAM_FROM_NETDEV), frame, 1).retval();
  }

  /** Runs a frame through the pod's ingress (tc egress of the host side). */
  int toPod(byte[] frame) {
    return TestRun.run(dp.programFd(LinuxDatapath.PROGRAM_TO_POD), frame, 1).retval();
  }

  List<DatapathEvent> events() {
    reader.drain();
    List<DatapathEvent> out = new ArrayList<>(events);
    events.clear();
    return out;
  }

  /** Counter packets of a reason and direction, summed over CPUs. */
  long counter(int reason, int direction) {
    return dp.counters().stream()
        .filter(c -> c.reason() == reason && c.direction() == direction)
        .mapToLong(c -> c.packets())
        .sum();
  }

  void reset() {
    for (Ep e : endpoints) {
      dp.deleteEndpoint(e.ifindex);
      dp.forgetEndpoint(e.id);
      dp.deleteLocalAddress(Cidr.Family.IPV4, ip(e.ipv4));
      if (e.ipv6 != null) {
        dp.deleteLocalAddress(Cidr.Family.IPV6, ip(e.ipv6));
      }
    }
    endpoints.clear();
    for (Cidr c : new HashMap<>(dp.ipcache()).keySet()) {
      dp.deleteIpcache(c);
    }
    events();
  }

  static Map.Entry<PolicyKey, PolicyValue> entry(
      int peer, int dir, int proto, int port, int prefix, int verdict, int cookie) {
    return Map.entry(
        new PolicyKey(peer, dir, proto, port, prefix), new PolicyValue(verdict, cookie));
  }

  static BigInteger ip(String s) {
    return new BigInteger(1, addr(s).getAddress());
  }

  static InetAddress addr(String s) {
    try {
      return InetAddress.getByName(s);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(s, e);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      reader.close();
      dp.close();
    } finally {
      Bpffs.removeTree(pins);
    }
  }
}
