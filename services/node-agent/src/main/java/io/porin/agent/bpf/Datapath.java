package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_KEY;
import static io.porin.agent.bpf.MapLayouts.ENDPOINT;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_KEY;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_VALUE;
import static io.porin.agent.bpf.MapLayouts.POLICY_KEY;
import static io.porin.agent.bpf.MapLayouts.POLICY_VALUE;
import static io.porin.agent.bpf.MapLayouts.offset;

import io.porin.core.ipam.Cidr;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The loaded datapath of one node: the programs of {@code bpf_lxc.c} and every {@code porin_} map,
 * pinned under the node's pin directory. Opening it again (a restarted agent) reuses the pinned
 * maps with their contents; attaching again swaps programs atomically.
 *
 * <p>Map access is typed here so that nothing outside this room encodes a key.
 */
public final class Datapath implements AutoCloseable {
  public static final String PROGRAM_FROM_POD = "porin_from_pod";
  public static final String PROGRAM_TO_POD = "porin_to_pod";
  private static final String OBJECT_RESOURCE = "/bpf/bpf_lxc.o";

  /** What the datapath knows of one local endpoint. */
  public record EndpointConfig(
      int endpointId,
      int identity,
      int policyRevision,
      int flags,
      int ingressDefault,
      int egressDefault,
      int ingressDefaultCookie,
      int egressDefaultCookie,
      String podMac,
      String hostMac) {}

  /** One policy map entry as the kernel holds it. */
  public record PolicyKey(int identity, int direction, int protocol, int port, int prefixLength) {}

  public record PolicyValue(int verdict, int cookie) {}

  /** Packets and bytes of one counter, summed over CPUs. */
  public record Counter(int reason, int direction, long packets, long bytes) {}

  private final Path pinDirectory;
  private final BpfObject object;
  private final BpfMap ipcache;
  private final BpfMap endpoints;
  private final BpfMap policy;
  private final BpfMap cidrClasses;
  private final BpfMap counters;
  private final BpfMap events;
  private final BpfMap conntrack;
  private final BpfMap lxc;
  private final int fromPod;
  private final int toPod;
  private final Map<Integer, BpfMap> policyMaps = new HashMap<>();
  // What this process last wrote, so that a change costs a diff, not a read of the whole map.
  // Filled from the kernel on first use (pinned maps outlive the process); dropped on failure.
  private final Map<Integer, Map<PolicyKey, PolicyValue>> policyWritten = new HashMap<>();
  private Map<Long, Map<Cidr, Integer>> classesWritten;
  private final int cpus;

  private Datapath(Path pinDirectory, BpfObject object) throws IOException {
    this.pinDirectory = pinDirectory;
    this.object = object;
    ipcache = object.map("porin_ipcache", size(IPCACHE_KEY), size(IPCACHE_VALUE));
    endpoints = object.map("porin_endpoints", 4, size(ENDPOINT));
    policy = object.map("porin_policy", 4, 4);
    cidrClasses =
        object.map("porin_cidr_classes", size(CIDR_CLASS_KEY), size(MapLayouts.CIDR_CLASS_VALUE));
    cpus = possibleCpus();
    counters = object.map("porin_counters", 4, size(MapLayouts.COUNTER) * cpus);
    events = object.map("porin_events", 0, 0);
    conntrack = object.map("porin_ct", size(MapLayouts.CT_KEY), size(MapLayouts.CT_ENTRY));
    lxc = object.map("porin_lxc", size(MapLayouts.LXC_KEY), size(MapLayouts.LXC_VALUE));
    fromPod = object.programFd(PROGRAM_FROM_POD);
    toPod = object.programFd(PROGRAM_TO_POD);
  }

  /**
   * Loads the datapath with its maps pinned under {@code pinDirectory} (created, and bpffs mounted,
   * when missing).
   */
  public static Datapath open(Path pinDirectory) throws IOException, InterruptedException {
    Bpffs.ensureMounted();
    Files.createDirectories(pinDirectory.resolve("policy"));
    Path objectFile = Files.createTempFile("porin-bpf_lxc", ".o");
    try (InputStream in = Datapath.class.getResourceAsStream(OBJECT_RESOURCE)) {
      if (in == null) {
        throw new BpfException(
            "the datapath object " + OBJECT_RESOURCE + " is not on the classpath");
      }
      Files.copy(in, objectFile, StandardCopyOption.REPLACE_EXISTING);
      return new Datapath(pinDirectory, BpfObject.load(objectFile, pinDirectory));
    } finally {
      Files.deleteIfExists(objectFile);
    }
  }

  public int programFd(String name) {
    return switch (name) {
      case PROGRAM_FROM_POD -> fromPod;
      case PROGRAM_TO_POD -> toPod;
      default -> throw new IllegalArgumentException("no program " + name);
    };
  }

  // ---- programs on interfaces

  /** Attaches (or replaces) both programs on a pod's host-side interface. */
  public void attach(int ifindex) {
    Tc.attach(ifindex, Tc.Hook.INGRESS, fromPod);
    Tc.attach(ifindex, Tc.Hook.EGRESS, toPod);
  }

  /** True when both hooks of the interface carry a program. */
  public boolean attached(int ifindex) {
    return Tc.attachedProgramId(ifindex, Tc.Hook.INGRESS) != 0
        && Tc.attachedProgramId(ifindex, Tc.Hook.EGRESS) != 0;
  }

  // ---- ipcache

  public void putIpcache(Cidr prefix, int identity) {
    ipcache.update(ipcacheKey(prefix), ipcacheValue(identity));
  }

  /** Writes many ipcache entries in one call. */
  public void putIpcache(Map<Cidr, Integer> entries) {
    int n = entries.size();
    byte[] keys = new byte[n * ipcache.keySize()];
    byte[] values = new byte[n * ipcache.valueSize()];
    int i = 0;
    for (Map.Entry<Cidr, Integer> e : entries.entrySet()) {
      System.arraycopy(ipcacheKey(e.getKey()), 0, keys, i * ipcache.keySize(), ipcache.keySize());
      System.arraycopy(
          ipcacheValue(e.getValue()), 0, values, i * ipcache.valueSize(), ipcache.valueSize());
      i++;
    }
    ipcache.updateBatch(keys, values, n);
  }

  public boolean deleteIpcache(Cidr prefix) {
    return ipcache.delete(ipcacheKey(prefix));
  }

  /** Every ipcache entry, as the kernel holds it. */
  public Map<Cidr, Integer> ipcache() {
    Map<Cidr, Integer> out = new LinkedHashMap<>();
    for (byte[] key : ipcache.keys()) {
      ipcache
          .lookup(key)
          .ifPresent(
              v -> out.put(cidrOf(key, 0, 4, 8, 32), MapLayouts.get(v, IPCACHE_VALUE, "identity")));
    }
    return out;
  }

  /** The identity the datapath would give an address (longest prefix), if any. */
  public Optional<Integer> lookupIpcache(Cidr.Family family, BigInteger address) {
    return ipcache
        .lookup(ipcacheKey(Cidr.host(family, address)))
        .map(v -> MapLayouts.get(v, IPCACHE_VALUE, "identity"));
  }

  private static byte[] ipcacheKey(Cidr prefix) {
    byte[] k = MapLayouts.buffer(IPCACHE_KEY);
    MapLayouts.put(k, IPCACHE_KEY, "prefixlen", 32 + prefix.prefixLength());
    MapLayouts.put(k, IPCACHE_KEY, "family", familyOf(prefix.family()));
    putAddress(k, offset(IPCACHE_KEY, "addr"), prefix);
    return k;
  }

  private static byte[] ipcacheValue(int identity) {
    byte[] v = MapLayouts.buffer(IPCACHE_VALUE);
    MapLayouts.put(v, IPCACHE_VALUE, "identity", identity);
    return v;
  }

  // ---- endpoints

  public void putEndpoint(int ifindex, EndpointConfig c) {
    byte[] v = MapLayouts.buffer(ENDPOINT);
    MapLayouts.put(v, ENDPOINT, "endpoint_id", c.endpointId());
    MapLayouts.put(v, ENDPOINT, "identity", c.identity());
    MapLayouts.put(v, ENDPOINT, "policy_revision", c.policyRevision());
    MapLayouts.put(v, ENDPOINT, "flags", c.flags());
    MapLayouts.put(v, ENDPOINT, "ingress_default", c.ingressDefault());
    MapLayouts.put(v, ENDPOINT, "egress_default", c.egressDefault());
    MapLayouts.put(v, ENDPOINT, "ingress_default_cookie", c.ingressDefaultCookie());
    MapLayouts.put(v, ENDPOINT, "egress_default_cookie", c.egressDefaultCookie());
    putMac(v, offset(ENDPOINT, "pod_mac"), c.podMac());
    putMac(v, offset(ENDPOINT, "host_mac"), c.hostMac());
    endpoints.update(intKey(ifindex), v);
  }

  public Optional<EndpointConfig> endpoint(int ifindex) {
    return endpoints
        .lookup(intKey(ifindex))
        .map(
            v ->
                new EndpointConfig(
                    MapLayouts.get(v, ENDPOINT, "endpoint_id"),
                    MapLayouts.get(v, ENDPOINT, "identity"),
                    MapLayouts.get(v, ENDPOINT, "policy_revision"),
                    MapLayouts.get(v, ENDPOINT, "flags"),
                    MapLayouts.get(v, ENDPOINT, "ingress_default"),
                    MapLayouts.get(v, ENDPOINT, "egress_default"),
                    MapLayouts.get(v, ENDPOINT, "ingress_default_cookie"),
                    MapLayouts.get(v, ENDPOINT, "egress_default_cookie"),
                    mac(v, offset(ENDPOINT, "pod_mac")),
                    mac(v, offset(ENDPOINT, "host_mac"))));
  }

  public boolean deleteEndpoint(int ifindex) {
    return endpoints.delete(intKey(ifindex));
  }

  /** A local endpoint's address, for the same-node fast path: traffic to it goes to ifindex. */
  public void putLocalAddress(Cidr.Family family, BigInteger address, int ifindex) {
    byte[] v = new byte[4];
    MapLayouts.putInt(v, 0, ifindex);
    lxc.update(lxcKey(family, address), v);
  }

  public boolean deleteLocalAddress(Cidr.Family family, BigInteger address) {
    return lxc.delete(lxcKey(family, address));
  }

  private static byte[] lxcKey(Cidr.Family family, BigInteger address) {
    byte[] k = MapLayouts.buffer(MapLayouts.LXC_KEY);
    MapLayouts.put(k, MapLayouts.LXC_KEY, "family", familyOf(family));
    putAddress(k, offset(MapLayouts.LXC_KEY, "addr"), Cidr.host(family, address));
    return k;
  }

  private static void putMac(byte[] b, int off, String mac) {
    if (mac == null || mac.isEmpty()) {
      return;
    }
    String[] parts = mac.split(":");
    if (parts.length != 6) {
      throw new IllegalArgumentException("\"" + mac + "\" is not a MAC address");
    }
    for (int i = 0; i < 6; i++) {
      b[off + i] = (byte) Integer.parseInt(parts[i], 16);
    }
  }

  private static String mac(byte[] b, int off) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      sb.append(i == 0 ? "" : ":").append(String.format("%02x", b[off + i] & 0xFF));
    }
    return sb.toString();
  }

  // ---- policy maps (one LPM trie per endpoint, pinned, registered in porin_policy)

  /**
   * Replaces an endpoint's policy map contents with {@code entries}: writes what changed, deletes
   * what went. Refuses (and writes nothing) when the entries do not fit.
   *
   * @return the number of writes and deletes done
   */
  public synchronized int writePolicy(int endpointId, Map<PolicyKey, PolicyValue> entries) {
    if (entries.size() > MapLayouts.POLICY_MAX) {
      throw new PolicyMapOverflowException(endpointId, entries.size(), MapLayouts.POLICY_MAX);
    }
    BpfMap map = policyMap(endpointId);
    Map<PolicyKey, PolicyValue> current =
        policyWritten.computeIfAbsent(endpointId, id -> readPolicy(map));
    int changes = 0;
    try {
      for (Map.Entry<PolicyKey, PolicyValue> e : entries.entrySet()) {
        if (!e.getValue().equals(current.get(e.getKey()))) {
          map.update(policyKey(e.getKey()), policyValue(e.getKey(), e.getValue()));
          changes++;
        }
      }
      for (PolicyKey k : current.keySet()) {
        if (!entries.containsKey(k)) {
          map.delete(policyKey(k));
          changes++;
        }
      }
    } catch (RuntimeException e) {
      policyWritten.remove(endpointId); // the kernel is the truth again next time
      throw e;
    }
    policyWritten.put(endpointId, new HashMap<>(entries));
    return changes;
  }

  /** An endpoint's policy map as the kernel holds it (empty when it has none). */
  public synchronized Map<PolicyKey, PolicyValue> readPolicy(int endpointId) {
    BpfMap map = existingPolicyMap(endpointId);
    return map == null ? Map.of() : readPolicy(map);
  }

  /** Removes an endpoint's policy map (registration and pin). */
  public synchronized void deletePolicyMap(int endpointId) throws IOException {
    policy.delete(intKey(endpointId));
    policyWritten.remove(endpointId);
    BpfMap map = policyMaps.remove(endpointId);
    if (map != null) {
      map.close();
    }
    Files.deleteIfExists(policyPin(endpointId));
  }

  private BpfMap existingPolicyMap(int endpointId) {
    BpfMap map = policyMaps.get(endpointId);
    if (map == null && Files.exists(policyPin(endpointId))) {
      map =
          BpfMap.fromPin(
              policyPin(endpointId), "policy_" + endpointId, size(POLICY_KEY), size(POLICY_VALUE));
      policyMaps.put(endpointId, map);
    }
    return map;
  }

  private BpfMap policyMap(int endpointId) {
    BpfMap map = existingPolicyMap(endpointId);
    if (map == null) {
      map =
          BpfMap.create(
              MapLayouts.MAP_TYPE_LPM_TRIE,
              "porin_pol_" + endpointId,
              size(POLICY_KEY),
              size(POLICY_VALUE),
              MapLayouts.POLICY_MAX,
              MapLayouts.MAP_F_NO_PREALLOC);
      map.pin(policyPin(endpointId));
      policyMaps.put(endpointId, map);
    }
    policy.updateInner(intKey(endpointId), map);
    return map;
  }

  private Path policyPin(int endpointId) {
    return pinDirectory.resolve("policy").resolve(Integer.toString(endpointId));
  }

  private static Map<PolicyKey, PolicyValue> readPolicy(BpfMap map) {
    Map<PolicyKey, PolicyValue> out = new HashMap<>();
    for (byte[] k : map.keys()) {
      map.lookup(k)
          .ifPresent(
              v ->
                  out.put(
                      new PolicyKey(
                          MapLayouts.get(k, POLICY_KEY, "identity"),
                          MapLayouts.get(k, POLICY_KEY, "direction"),
                          MapLayouts.get(k, POLICY_KEY, "protocol"),
                          MapLayouts.getPort(k, offset(POLICY_KEY, "port")),
                          MapLayouts.get(k, POLICY_KEY, "prefixlen") - 40),
                      new PolicyValue(
                          MapLayouts.get(v, POLICY_VALUE, "verdict"),
                          MapLayouts.get(v, POLICY_VALUE, "cookie"))));
    }
    return out;
  }

  private static byte[] policyKey(PolicyKey p) {
    byte[] k = MapLayouts.buffer(POLICY_KEY);
    MapLayouts.put(k, POLICY_KEY, "prefixlen", 40 + p.prefixLength());
    MapLayouts.put(k, POLICY_KEY, "identity", p.identity());
    MapLayouts.put(k, POLICY_KEY, "direction", p.direction());
    MapLayouts.put(k, POLICY_KEY, "protocol", p.protocol());
    MapLayouts.putPort(k, offset(POLICY_KEY, "port"), p.port());
    return k;
  }

  private static byte[] policyValue(PolicyKey k, PolicyValue p) {
    byte[] v = MapLayouts.buffer(POLICY_VALUE);
    MapLayouts.put(v, POLICY_VALUE, "verdict", p.verdict());
    MapLayouts.put(v, POLICY_VALUE, "prefix_len", k.prefixLength());
    MapLayouts.put(v, POLICY_VALUE, "cookie", p.cookie());
    return v;
  }

  // ---- ipBlock address classes, per endpoint and direction

  /** Replaces an endpoint's address classes for one direction. */
  public synchronized void writeCidrClasses(
      int endpointId, int direction, Map<Cidr, Integer> classes) {
    if (classesWritten == null) {
      classesWritten = readCidrClasses();
    }
    long slot = ((long) endpointId << 1) | direction;
    Map<Cidr, Integer> current = classesWritten.getOrDefault(slot, Map.of());
    try {
      classes.forEach(
          (c, id) -> {
            if (!id.equals(current.get(c))) {
              byte[] v = new byte[4];
              MapLayouts.putInt(v, 0, id);
              cidrClasses.update(cidrClassKey(endpointId, direction, c), v);
            }
          });
      for (Cidr c : current.keySet()) {
        if (!classes.containsKey(c)) {
          cidrClasses.delete(cidrClassKey(endpointId, direction, c));
        }
      }
    } catch (RuntimeException e) {
      classesWritten = null; // read the kernel again next time
      throw e;
    }
    if (classes.isEmpty()) {
      classesWritten.remove(slot);
    } else {
      classesWritten.put(slot, new HashMap<>(classes));
    }
  }

  /** Every endpoint's classes as the kernel holds them, by (endpoint id &lt;&lt; 1 | direction). */
  private Map<Long, Map<Cidr, Integer>> readCidrClasses() {
    Map<Long, Map<Cidr, Integer>> out = new HashMap<>();
    for (byte[] k : cidrClasses.keys()) {
      long slot =
          ((long) MapLayouts.get(k, CIDR_CLASS_KEY, "endpoint_id") << 1)
              | MapLayouts.get(k, CIDR_CLASS_KEY, "direction");
      cidrClasses
          .lookup(k)
          .ifPresent(
              v ->
                  out.computeIfAbsent(slot, x -> new HashMap<>())
                      .put(cidrOf(k, 0, 9, 12, 64), MapLayouts.getInt(v, 0)));
    }
    return out;
  }

  private static byte[] cidrClassKey(int endpointId, int direction, Cidr c) {
    byte[] k = MapLayouts.buffer(CIDR_CLASS_KEY);
    MapLayouts.put(k, CIDR_CLASS_KEY, "prefixlen", 64 + c.prefixLength());
    MapLayouts.put(k, CIDR_CLASS_KEY, "endpoint_id", endpointId);
    MapLayouts.put(k, CIDR_CLASS_KEY, "direction", direction);
    MapLayouts.put(k, CIDR_CLASS_KEY, "family", familyOf(c.family()));
    putAddress(k, offset(CIDR_CLASS_KEY, "addr"), c);
    return k;
  }

  // ---- counters, conntrack and events

  /** Every non-zero counter, summed over CPUs. */
  public List<Counter> counters() {
    List<Counter> out = new java.util.ArrayList<>();
    for (int i = 0; i < MapLayouts.COUNTERS_MAX; i++) {
      byte[] v = counters.lookup(intKey(i)).orElse(null);
      if (v == null) {
        continue;
      }
      long packets = 0;
      long bytes = 0;
      for (int cpu = 0; cpu < cpus; cpu++) {
        packets += MapLayouts.getLong(v, cpu * 16);
        bytes += MapLayouts.getLong(v, cpu * 16 + 8);
      }
      if (packets != 0) {
        out.add(new Counter(i / 2, i % 2, packets, bytes));
      }
    }
    return out;
  }

  /** The number of conntrack entries (a walk of the map: for status and tests, not hot paths). */
  public int conntrackEntries() {
    return conntrack.keys().size();
  }

  /** Empties conntrack (tests, and the CLI's flush). */
  public void flushConntrack() {
    for (byte[] k : conntrack.keys()) {
      conntrack.delete(k);
    }
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

  // ---- helpers

  private static int size(java.lang.foreign.StructLayout l) {
    return (int) l.byteSize();
  }

  private static byte[] intKey(int v) {
    byte[] k = new byte[4];
    MapLayouts.putInt(k, 0, v);
    return k;
  }

  static int familyOf(Cidr.Family f) {
    return f == Cidr.Family.IPV4 ? MapLayouts.FAMILY_IPV4 : MapLayouts.FAMILY_IPV6;
  }

  /** Writes the prefix's network address, network order, at {@code off} (16 bytes). */
  static void putAddress(byte[] b, int off, Cidr c) {
    int len = c.family() == Cidr.Family.IPV4 ? 4 : 16;
    byte[] raw = c.network().toByteArray();
    for (int i = 0; i < len; i++) {
      int src = raw.length - len + i;
      b[off + i] = src >= 0 ? raw[src] : 0;
    }
  }

  private static Cidr cidrOf(byte[] key, int prefixOff, int familyOff, int addrOff, int overhead) {
    int family = key[familyOff] & 0xFF;
    int len = family == MapLayouts.FAMILY_IPV4 ? 4 : 16;
    byte[] raw = new byte[len + 1];
    System.arraycopy(key, addrOff, raw, 1, len);
    return new Cidr(
        family == MapLayouts.FAMILY_IPV4 ? Cidr.Family.IPV4 : Cidr.Family.IPV6,
        new BigInteger(raw),
        MapLayouts.getInt(key, prefixOff) - overhead);
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
    policyMaps.values().forEach(BpfMap::close);
    policyMaps.clear();
    object.close();
  }
}
