package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_KEY;
import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_VALUE;
import static io.porin.agent.bpf.MapLayouts.ENDPOINT;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_KEY;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_VALUE;
import static io.porin.agent.bpf.MapLayouts.LXC_KEY;
import static io.porin.agent.bpf.MapLayouts.LXC_VALUE;
import static io.porin.agent.bpf.MapLayouts.NODE_STATE;
import static io.porin.agent.bpf.MapLayouts.size;

import io.porin.agent.bpf.maps.ConnectionMaps;
import io.porin.agent.bpf.maps.CounterMap;
import io.porin.agent.bpf.maps.EncryptMap;
import io.porin.agent.bpf.maps.EndpointMap;
import io.porin.agent.bpf.maps.IpcacheMap;
import io.porin.agent.bpf.maps.LoadBalancerMaps;
import io.porin.agent.bpf.maps.LocalAddressMap;
import io.porin.agent.bpf.maps.NodeStateMap;
import io.porin.agent.bpf.maps.PolicyMaps;
import io.porin.agent.datapath.ConntrackSweep;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.datapath.Encryption;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.LoadBalancer;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The loaded datapath of one node: the programs of {@code bpf_lxc.c} and every {@code porin_} map,
 * pinned under the node's pin directory. Opening it again (a restarted agent) reuses the pinned
 * maps with their contents; attaching again swaps programs atomically. Each map has its typed codec
 * in {@code bpf.maps}; nothing outside this room encodes a key.
 */
public final class LinuxDatapath implements Datapath, AutoCloseable {
  public static final String PROGRAM_FROM_POD = "porin_from_pod";
  public static final String PROGRAM_TO_POD = "porin_to_pod";
  public static final String PROGRAM_FROM_NETDEV = "porin_from_netdev";
  private static final String OBJECT_RESOURCE = "/bpf/bpf_lxc.o";

  private final BpfObject object;
  private final IpcacheMap ipcache;
  private final EndpointMap endpoints;
  private final LocalAddressMap localAddresses;
  private final PolicyMaps policies;
  private final ConnectionMaps connections;
  private final NodeStateMap state;
  private final CounterMap counters;
  private final BpfMap events;
  private final LoadBalancerMaps loadBalancer;
  private final EncryptMap encrypt;
  private final Path pins;
  private final int fromPod;
  private final int toPod;
  private final int fromNetdev;

  private LinuxDatapath(Path pins, BpfObject object) throws IOException {
    this.object = object;
    ipcache = new IpcacheMap(object.map("porin_ipcache", size(IPCACHE_KEY), size(IPCACHE_VALUE)));
    endpoints = new EndpointMap(object.map("porin_endpoints", 4, size(ENDPOINT)));
    localAddresses = new LocalAddressMap(object.map("porin_lxc", size(LXC_KEY), size(LXC_VALUE)));
    policies =
        new PolicyMaps(
            object.map("porin_policy", 4, 4),
            object.map("porin_cidr_classes", size(CIDR_CLASS_KEY), size(CIDR_CLASS_VALUE)),
            pins.resolve("policy"));
    connections =
        new ConnectionMaps(object.map("porin_ct", 4, 4), object.map("porin_frag", 4, 4), pins);
    state = new NodeStateMap(object.map("porin_state", 4, size(NODE_STATE)));
    int cpus = possibleCpus();
    counters =
        new CounterMap(object.map("porin_counters", 4, size(MapLayouts.COUNTER) * cpus), cpus);
    events = object.map("porin_events", 0, 0);
    loadBalancer =
        new LoadBalancerMaps(
            object.map("porin_lb_services", size(MapLayouts.LB_KEY), size(MapLayouts.LB_SERVICE)),
            object.map("porin_lb_backends", 4, size(MapLayouts.LB_BACKEND)),
            object.map("porin_lb_revnat", 4, size(MapLayouts.LB_REVNAT)),
            object.map("porin_lb_maglev", 4, 4),
            object.map("porin_lb_affinity_match", size(MapLayouts.LB_AFFINITY_MATCH_KEY), 1));
    encrypt =
        new EncryptMap(
            object.map("porin_encrypt", size(IPCACHE_KEY), size(MapLayouts.ENCRYPT_VALUE)));
    this.pins = pins;
    fromPod = object.programFd(PROGRAM_FROM_POD);
    toPod = object.programFd(PROGRAM_TO_POD);
    fromNetdev = object.programFd(PROGRAM_FROM_NETDEV);
  }

  /**
   * Loads the datapath with its maps pinned under {@code pins} (created, and bpffs mounted, when
   * missing).
   */
  public static LinuxDatapath open(Path pins) throws IOException, InterruptedException {
    Bpffs.ensureMounted();
    boolean created = !Files.isDirectory(pins);
    Files.createDirectories(pins);
    Path objectFile = Files.createTempFile("porin-bpf_lxc", ".o");
    try (InputStream in = LinuxDatapath.class.getResourceAsStream(OBJECT_RESOURCE)) {
      if (in == null) {
        throw new BpfException(
            "the datapath object " + OBJECT_RESOURCE + " is not on the classpath");
      }
      Files.copy(in, objectFile, StandardCopyOption.REPLACE_EXISTING);
      return new LinuxDatapath(pins, BpfObject.load(objectFile, pins));
    } catch (IOException | RuntimeException e) {
      if (created) {
        // a load that failed leaves nothing behind (libbpf unpins what it pinned)
        try (var left = Files.list(pins)) {
          if (left.findAny().isEmpty()) {
            Files.deleteIfExists(pins);
          }
        }
      }
      throw e;
    } finally {
      Files.deleteIfExists(objectFile);
    }
  }

  public int programFd(String name) {
    return switch (name) {
      case PROGRAM_FROM_POD -> fromPod;
      case PROGRAM_TO_POD -> toPod;
      case PROGRAM_FROM_NETDEV -> fromNetdev;
      default -> throw new IllegalArgumentException("no program " + name);
    };
  }

  /** Transparent encryption: the device, the mode and the peers' pod prefixes. */
  public Encryption encryption() {
    return new Encryption() {
      @Override
      public void setMode(int wgIfindex, boolean on, boolean strict) {
        state.setEncryption(
            wgIfindex, (on ? MapLayouts.ENCRYPT_ON : 0) | (strict ? MapLayouts.ENCRYPT_STRICT : 0));
      }

      @Override
      public void putPrefixes(Map<Cidr, Boolean> throughPeer) {
        encrypt.put(throughPeer);
      }

      @Override
      public boolean deletePrefix(Cidr prefix) {
        return encrypt.delete(prefix);
      }

      @Override
      public Map<Cidr, Boolean> prefixes() {
        return encrypt.all();
      }
    };
  }

  /** The service load-balancing maps. */
  public LoadBalancer loadBalancer() {
    return loadBalancer;
  }

  /**
   * Socket load balancing for every process under {@code cgroup} (a cgroup v2 directory; the pods'
   * parent, never the root cgroup): loads the socket programs and attaches or swaps them.
   */
  public void attachSocketLb(Path cgroup) throws IOException {
    try (SocketLb lb = SocketLb.load(pins)) {
      lb.attach(cgroup);
    }
  }

  // ---- programs on interfaces

  @Override
  public void attach(int ifindex) {
    Tc.attach(ifindex, Tc.Hook.INGRESS, fromPod);
    Tc.attach(ifindex, Tc.Hook.EGRESS, toPod);
  }

  /**
   * Makes a device one of the node's uplinks: pod traffic to other nodes leaves through it
   * directly, and what arrives on it for a local pod meets that pod's ingress policy there and goes
   * straight in (porin_from_netdev on its tc ingress, atomically replaced).
   */
  public void attachDevice(int ifindex) {
    Tc.attach(ifindex, Tc.Hook.INGRESS, fromNetdev);
    state.addDevice(ifindex);
  }

  @Override
  public boolean attached(int ifindex) {
    return Tc.attachedProgramId(ifindex, Tc.Hook.INGRESS) != 0
        && Tc.attachedProgramId(ifindex, Tc.Hook.EGRESS) != 0;
  }

  // ---- endpoints

  @Override
  public void putEndpoint(int ifindex, EndpointConfig c) {
    endpoints.put(ifindex, c);
  }

  @Override
  public Optional<EndpointConfig> endpoint(int ifindex) {
    return endpoints.get(ifindex);
  }

  @Override
  public boolean deleteEndpoint(int ifindex) {
    return endpoints.delete(ifindex);
  }

  /** Every endpoint the kernel holds, by ifindex. */
  public Map<Integer, EndpointConfig> endpoints() {
    return endpoints.all();
  }

  @Override
  public void putLocalAddress(Cidr.Family family, BigInteger address, int ifindex) {
    localAddresses.put(family, address, ifindex);
  }

  @Override
  public boolean deleteLocalAddress(Cidr.Family family, BigInteger address) {
    return localAddresses.delete(family, address);
  }

  @Override
  public void resetConnections(int endpointId, int conntrackSize) {
    connections.reset(endpointId, conntrackSize);
  }

  @Override
  public boolean hasConnections(int endpointId) {
    return connections.has(endpointId);
  }

  @Override
  public void forgetEndpoint(int endpointId) {
    policies.forget(endpointId);
    connections.forget(endpointId);
  }

  // ---- policy

  @Override
  public int writePolicy(int endpointId, int slot, PolicyContent content) {
    return policies.write(endpointId, slot, content);
  }

  @Override
  public Map<PolicyKey, PolicyValue> readPolicy(int endpointId, int slot) {
    return policies.read(endpointId, slot);
  }

  // ---- ipcache

  @Override
  public void putIpcache(Map<Cidr, Integer> entries) {
    ipcache.put(entries);
  }

  @Override
  public boolean deleteIpcache(Cidr prefix) {
    return ipcache.delete(prefix);
  }

  @Override
  public Map<Cidr, Integer> ipcache() {
    return ipcache.all();
  }

  /** The identity the datapath would give an address (longest prefix), if any. */
  public Optional<Integer> lookupIpcache(Cidr.Family family, BigInteger address) {
    return ipcache.lookup(family, address);
  }

  @Override
  public void ipcacheChanged() {
    state.bumpIpcacheGeneration();
  }

  public int ipcacheGeneration() {
    return state.ipcacheGeneration();
  }

  // ---- node state

  @Override
  public int lastRevision() {
    return state.lastRevision();
  }

  @Override
  public void saveLastRevision(int revision) {
    state.saveLastRevision(revision);
  }

  // ---- conntrack, counters and events

  @Override
  public ConntrackSweep sweepConntrack(int endpointId, long nowNanos) {
    return connections.sweep(endpointId, nowNanos);
  }

  /** An endpoint's connections as the kernel holds them. */
  public List<ConnectionMaps.Connection> connections(int endpointId) {
    return connections.connections(endpointId);
  }

  /** Every non-zero counter, summed over CPUs. */
  public List<CounterMap.Counter> counters() {
    return counters.all();
  }

  /** Starts draining datapath events to a consumer every {@code intervalMillis}. */
  public RingBufferReader events(long intervalMillis, Consumer<byte[]> consumer) {
    return new RingBufferReader(events, intervalMillis, consumer);
  }

  /** As {@link #events(long, Consumer)}, with {@code afterDrain} run after each drain. */
  public RingBufferReader events(
      long intervalMillis, Consumer<byte[]> consumer, Runnable afterDrain) {
    return new RingBufferReader(events, intervalMillis, consumer, afterDrain);
  }

  private static int possibleCpus() throws IOException {
    String text = Files.readString(Path.of("/sys/devices/system/cpu/possible")).trim();
    int max = 0;
    for (String part : text.split(",")) {
      String[] range = part.split("-");
      max = Math.max(max, Integer.parseInt(range[range.length - 1]));
    }
    return max + 1;
  }

  @Override
  public synchronized void close() {
    policies.close();
    connections.close();
    object.close();
  }
}
