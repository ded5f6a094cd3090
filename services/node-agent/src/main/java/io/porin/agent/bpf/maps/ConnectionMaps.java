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

  /** By endpoint id << 1 | direction, as porin_ct keys them. */
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

  /**
   * Fresh, empty maps for an endpoint ({@code conntrackSize} connections per direction), replacing
   * (atomically, for the datapath) the old ones.
   */
  public synchronized void reset(int endpointId, int conntrackSize) {
    List<BpfMap> created = new ArrayList<>();
    try {
      for (int dir = 0; dir < 2; dir++) {
        BpfMap ct =
            BpfMap.create(
                MapLayouts.MAP_TYPE_LRU_HASH,
                "porin_ct_" + endpointId + "_" + dir,
                MapLayouts.size(CT_KEY),
                MapLayouts.size(CT_ENTRY),
                conntrackSize,
                0);
        created.add(ct);
        repin(ct, ctPin(endpointId, dir));
        conntrack.updateInner(Fields.intKey(key(endpointId, dir)), ct);
        BpfMap old = ctMaps.put(key(endpointId, dir), ct);
        if (old != null) {
          old.close();
        }
      }
      try (BpfMap frag =
          BpfMap.create(
              MapLayouts.MAP_TYPE_LRU_HASH,
              "porin_frag_" + endpointId,
              MapLayouts.size(FRAG_KEY),
              MapLayouts.size(FRAG_VALUE),
              MapLayouts.FRAG_PER_ENDPOINT,
              0)) {
        repin(frag, fragPins.resolve(Integer.toString(endpointId)));
        fragments.updateInner(Fields.intKey(endpointId), frag);
      }
    } catch (RuntimeException e) {
      created.forEach(BpfMap::close);
      throw e;
    }
    capacities.put(endpointId, conntrackSize);
  }

  /** Removes an endpoint's maps: its connections and fragments are gone. */
  public synchronized void forget(int endpointId) {
    for (int dir = 0; dir < 2; dir++) {
      conntrack.delete(Fields.intKey(key(endpointId, dir)));
      BpfMap old = ctMaps.remove(key(endpointId, dir));
      if (old != null) {
        old.close();
      }
    }
    fragments.delete(Fields.intKey(endpointId));
    capacities.remove(endpointId);
    try {
      for (int dir = 0; dir < 2; dir++) {
        Files.deleteIfExists(ctPin(endpointId, dir));
      }
      Files.deleteIfExists(fragPins.resolve(Integer.toString(endpointId)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Deletes the entries of an endpoint that expired before {@code nowNanos}; counts the rest.
   * Capacity and live count are of the fuller direction (the one that evicts first).
   */
  public synchronized ConntrackSweep sweep(int endpointId, long nowNanos) {
    int live = 0;
    int removed = 0;
    int capacity = 0;
    for (int dir = 0; dir < 2; dir++) {
      BpfMap ct = ctMap(endpointId, dir);
      if (ct == null) {
        continue;
      }
      capacity = capacities.computeIfAbsent(endpointId, id -> ct.maxEntries());
      int liveHere = 0;
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
          liveHere++;
        }
      }
      live = Math.max(live, liveHere);
    }
    return new ConntrackSweep(endpointId, live, removed, capacity);
  }

  /** An endpoint's connections as the kernel holds them (tests and the CLI). */
  public synchronized List<Connection> connections(int endpointId) {
    List<Connection> out = new ArrayList<>();
    for (int dir = 0; dir < 2; dir++) {
      BpfMap ct = ctMap(endpointId, dir);
      if (ct != null) {
        for (byte[] k : ct.keys()) {
          ct.lookup(k).ifPresent(v -> out.add(decode(k, v)));
        }
      }
    }
    return out;
  }

  /** Whether the endpoint has connection maps. */
  public synchronized boolean has(int endpointId) {
    return ctMap(endpointId, 0) != null && ctMap(endpointId, 1) != null;
  }

  private static int key(int endpointId, int dir) {
    return (endpointId << 1) | dir;
  }

  private Path ctPin(int endpointId, int dir) {
    return ctPins.resolve(endpointId + "-" + dir);
  }

  private BpfMap ctMap(int endpointId, int dir) {
    BpfMap ct = ctMaps.get(key(endpointId, dir));
    Path pin = ctPin(endpointId, dir);
    if (ct == null && Files.exists(pin)) {
      ct =
          BpfMap.fromPin(
              pin,
              "porin_ct_" + endpointId + "_" + dir,
              MapLayouts.size(CT_KEY),
              MapLayouts.size(CT_ENTRY));
      ctMaps.put(key(endpointId, dir), ct);
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
