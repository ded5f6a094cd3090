package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.CT_ENTRY;
import static io.porin.agent.bpf.MapLayouts.CT_KEY;
import static io.porin.agent.bpf.MapLayouts.FRAG_KEY;
import static io.porin.agent.bpf.MapLayouts.FRAG_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.ConntrackSweep;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Each endpoint's connection state: its conntrack map and its fragment map (LRU hashes, pinned
 * under {@code ct/<endpoint>} and {@code frag/<endpoint>}, registered in {@code porin_ct} and
 * {@code porin_frag}). Replacing them empties an endpoint's connections at once; a flood fills only
 * the flooding endpoint's own map.
 */
public final class ConnectionMaps {
  private static final VarHandle EXPIRES = Fields.scalar(CT_ENTRY, "expires");
  private static final VarHandle REVISION = Fields.scalar(CT_ENTRY, "policy_revision");
  private static final VarHandle PEER = Fields.scalar(CT_ENTRY, "peer_identity");
  private static final VarHandle GENERATION = Fields.scalar(CT_ENTRY, "ipcache_generation");
  private static final VarHandle FLAGS = Fields.scalar(CT_ENTRY, "flags");
  private static final VarHandle K_PROTOCOL = Fields.scalar(CT_KEY, "protocol");
  private static final VarHandle K_DIRECTION = Fields.scalar(CT_KEY, "direction");
  private static final VarHandle K_FAMILY = Fields.scalar(CT_KEY, "family");
  private static final VarHandle K_SPORT = Fields.scalar(CT_KEY, "sport");
  private static final VarHandle K_DPORT = Fields.scalar(CT_KEY, "dport");
  private static final long K_SADDR = Fields.bytes(CT_KEY, "saddr");
  private static final long K_DADDR = Fields.bytes(CT_KEY, "daddr");

  /** One conntrack entry, decoded (for tests and the CLI). */
  public record Connection(
      String source,
      String destination,
      int sourcePort,
      int destinationPort,
      int protocol,
      int direction,
      long expiresNanos,
      int policyRevision,
      int peerIdentity,
      int ipcacheGeneration,
      int flags) {}

  private final BpfMap conntrack;
  private final BpfMap fragments;
  private final Path ctPins;
  private final Path fragPins;
  private final Map<Integer, BpfMap> ctMaps = new HashMap<>();
  private final Map<Integer, Integer> capacities = new HashMap<>();

  public ConnectionMaps(BpfMap conntrack, BpfMap fragments, Path pins) {
    this.conntrack = conntrack;
    this.fragments = fragments;
    this.ctPins = pins.resolve("ct");
    this.fragPins = pins.resolve("frag");
    try {
      Files.createDirectories(ctPins);
      Files.createDirectories(fragPins);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Fresh, empty maps for an endpoint, replacing (atomically, for the datapath) the old ones. */
  public synchronized void reset(int endpointId, int conntrackSize) {
    BpfMap ct =
        BpfMap.create(
            MapLayouts.MAP_TYPE_LRU_HASH,
            "porin_ct_" + endpointId,
            MapLayouts.size(CT_KEY),
            MapLayouts.size(CT_ENTRY),
            conntrackSize,
            0);
    try (BpfMap frag =
        BpfMap.create(
            MapLayouts.MAP_TYPE_LRU_HASH,
            "porin_frag_" + endpointId,
            MapLayouts.size(FRAG_KEY),
            MapLayouts.size(FRAG_VALUE),
            MapLayouts.FRAG_PER_ENDPOINT,
            0)) {
      repin(ct, ctPins.resolve(Integer.toString(endpointId)));
      repin(frag, fragPins.resolve(Integer.toString(endpointId)));
      conntrack.updateInner(Fields.intKey(endpointId), ct);
      fragments.updateInner(Fields.intKey(endpointId), frag);
    } catch (RuntimeException e) {
      ct.close();
      throw e;
    }
    BpfMap old = ctMaps.put(endpointId, ct);
    capacities.put(endpointId, conntrackSize);
    if (old != null) {
      old.close();
    }
  }

  /** Removes an endpoint's maps: its connections and fragments are gone. */
  public synchronized void forget(int endpointId) {
    conntrack.delete(Fields.intKey(endpointId));
    fragments.delete(Fields.intKey(endpointId));
    BpfMap old = ctMaps.remove(endpointId);
    capacities.remove(endpointId);
    if (old != null) {
      old.close();
    }
    try {
      Files.deleteIfExists(ctPins.resolve(Integer.toString(endpointId)));
      Files.deleteIfExists(fragPins.resolve(Integer.toString(endpointId)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes the entries of an endpoint that expired before {@code nowNanos}; counts the rest. */
  public synchronized ConntrackSweep sweep(int endpointId, long nowNanos) {
    BpfMap ct = ctMap(endpointId);
    if (ct == null) {
      return new ConntrackSweep(endpointId, 0, 0, 0);
    }
    int capacity = capacities.computeIfAbsent(endpointId, id -> ct.maxEntries());
    int live = 0;
    int removed = 0;
    for (byte[] k : ct.keys()) {
      byte[] v = ct.lookup(k).orElse(null);
      if (v == null) {
        continue;
      }
      if (Long.compareUnsigned((long) EXPIRES.get(Fields.segment(v)), nowNanos) <= 0) {
        if (ct.delete(k)) {
          removed++;
        }
      } else {
        live++;
      }
    }
    return new ConntrackSweep(endpointId, live, removed, capacity);
  }

  /** An endpoint's connections as the kernel holds them (tests and the CLI). */
  public synchronized List<Connection> connections(int endpointId) {
    BpfMap ct = ctMap(endpointId);
    List<Connection> out = new ArrayList<>();
    if (ct == null) {
      return out;
    }
    for (byte[] k : ct.keys()) {
      ct.lookup(k).ifPresent(v -> out.add(decode(k, v)));
    }
    return out;
  }

  /** Whether the endpoint has connection maps. */
  public synchronized boolean has(int endpointId) {
    return ctMap(endpointId) != null;
  }

  private BpfMap ctMap(int endpointId) {
    BpfMap ct = ctMaps.get(endpointId);
    Path pin = ctPins.resolve(Integer.toString(endpointId));
    if (ct == null && Files.exists(pin)) {
      ct =
          BpfMap.fromPin(
              pin, "porin_ct_" + endpointId, MapLayouts.size(CT_KEY), MapLayouts.size(CT_ENTRY));
      ctMaps.put(endpointId, ct);
    }
    return ct;
  }

  private static void repin(BpfMap map, Path pin) {
    try {
      Files.deleteIfExists(pin);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    map.pin(pin);
  }

  private static Connection decode(byte[] k, byte[] v) {
    var ks = Fields.segment(k);
    var vs = Fields.segment(v);
    int family = (byte) K_FAMILY.get(ks) & 0xFF;
    int len = family == MapLayouts.FAMILY_IPV4 ? 4 : 16;
    return new Connection(
        Fields.addressText(Fields.get(k, K_SADDR, len)),
        Fields.addressText(Fields.get(k, K_DADDR, len)),
        (short) K_SPORT.get(ks) & 0xFFFF,
        (short) K_DPORT.get(ks) & 0xFFFF,
        (byte) K_PROTOCOL.get(ks) & 0xFF,
        (byte) K_DIRECTION.get(ks) & 0xFF,
        (long) EXPIRES.get(vs),
        (int) REVISION.get(vs),
        (int) PEER.get(vs),
        (int) GENERATION.get(vs),
        (byte) FLAGS.get(vs) & 0xFF);
  }

  public synchronized void close() {
    ctMaps.values().forEach(BpfMap::close);
    ctMaps.clear();
  }
}
