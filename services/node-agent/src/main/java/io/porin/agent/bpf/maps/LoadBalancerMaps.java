package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.LB_BACKEND;
import static io.porin.agent.bpf.MapLayouts.LB_KEY;
import static io.porin.agent.bpf.MapLayouts.LB_REVNAT;
import static io.porin.agent.bpf.MapLayouts.LB_SERVICE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.LoadBalancer;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.Protocol;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code porin_lb_services}, {@code porin_lb_backends}, {@code porin_lb_revnat} and {@code
 * porin_lb_maglev}: the kernel side of {@link LoadBalancer}.
 */
public final class LoadBalancerMaps implements LoadBalancer {
  private static final long KEY_ADDR = Fields.bytes(LB_KEY, "addr");
  private static final VarHandle KEY_PORT = Fields.scalar(LB_KEY, "port");
  private static final VarHandle KEY_PROTOCOL = Fields.scalar(LB_KEY, "protocol");
  private static final VarHandle KEY_FAMILY = Fields.scalar(LB_KEY, "family");
  private static final VarHandle KEY_SLOT = Fields.scalar(LB_KEY, "slot");
  private static final VarHandle SVC_BACKEND = Fields.scalar(LB_SERVICE, "backend_id");
  private static final VarHandle SVC_ACTIVE = Fields.scalar(LB_SERVICE, "active");
  private static final VarHandle SVC_TERMINATING = Fields.scalar(LB_SERVICE, "terminating");
  private static final VarHandle SVC_REVNAT = Fields.scalar(LB_SERVICE, "rev_nat");
  private static final VarHandle SVC_AFFINITY = Fields.scalar(LB_SERVICE, "affinity_timeout");
  private static final VarHandle SVC_FLAGS = Fields.scalar(LB_SERVICE, "flags");
  private static final long BE_ADDR = Fields.bytes(LB_BACKEND, "addr");
  private static final VarHandle BE_PORT = Fields.scalar(LB_BACKEND, "port");
  private static final VarHandle BE_PROTOCOL = Fields.scalar(LB_BACKEND, "protocol");
  private static final VarHandle BE_FAMILY = Fields.scalar(LB_BACKEND, "family");
  private static final long RN_ADDR = Fields.bytes(LB_REVNAT, "addr");
  private static final VarHandle RN_PORT = Fields.scalar(LB_REVNAT, "port");
  private static final VarHandle RN_FAMILY = Fields.scalar(LB_REVNAT, "family");

  private final BpfMap services;
  private final BpfMap backends;
  private final BpfMap revNat;
  private final BpfMap maglev;
  private final BpfMap affinityMatch;

  /** Held-back writes (between begin and commit), by map, in the order they must reach it. */
  private boolean batching;

  private final Batch backendPuts = new Batch();
  private final Batch revNatPuts = new Batch();
  private final Batch matchPuts = new Batch();
  private final Batch slotPuts = new Batch();
  private final Batch headPuts = new Batch();
  private final List<Runnable> tables = new ArrayList<>();
  private final List<Runnable> removals = new ArrayList<>();

  private static final class Batch {
    final java.io.ByteArrayOutputStream keys = new java.io.ByteArrayOutputStream();
    final java.io.ByteArrayOutputStream values = new java.io.ByteArrayOutputStream();
    int count;

    void add(byte[] k, byte[] v) {
      keys.writeBytes(k);
      values.writeBytes(v);
      count++;
    }

    void flush(BpfMap map) {
      if (count > 0) {
        map.updateBatch(keys.toByteArray(), values.toByteArray(), count);
      }
      keys.reset();
      values.reset();
      count = 0;
    }
  }

  private void put(BpfMap map, Batch batch, byte[] k, byte[] v) {
    if (batching) {
      batch.add(k, v);
    } else {
      map.update(k, v);
    }
  }

  private void remove(BpfMap map, byte[] k) {
    if (batching) {
      removals.add(() -> map.delete(k));
    } else {
      map.delete(k);
    }
  }

  @Override
  public void begin() {
    batching = true;
  }

  @Override
  public void commit() {
    batching = false;
    try {
      backendPuts.flush(backends);
      revNatPuts.flush(revNat);
      matchPuts.flush(affinityMatch);
      for (Runnable r : tables) {
        r.run(); // Maglev tables: after the backends they name, before the entries that use them
      }
      slotPuts.flush(services);
      headPuts.flush(services);
      for (Runnable r : removals) {
        r.run();
      }
    } finally {
      for (Batch b : List.of(backendPuts, revNatPuts, matchPuts, slotPuts, headPuts)) {
        b.keys.reset();
        b.values.reset();
        b.count = 0;
      }
      removals.clear();
      tables.clear();
    }
  }

  public LoadBalancerMaps(
      BpfMap services, BpfMap backends, BpfMap revNat, BpfMap maglev, BpfMap affinityMatch) {
    this.services = services;
    this.backends = backends;
    this.revNat = revNat;
    this.maglev = maglev;
    this.affinityMatch = affinityMatch;
  }

  private static byte[] matchKey(int backend, int revNat) {
    byte[] k = new byte[8];
    putInt(k, 0, backend);
    putInt(k, 4, revNat);
    return k;
  }

  /** The (backend, frontend) pairs affinity may use: added before the slots ... */
  private void addMatches(Service svc, Service previous) {
    if ((svc.flags() & MapLayouts.LB_AFFINITY) == 0) {
      return; // only affinity looks at them
    }
    for (int id : members(svc)) {
      if (previous == null
          || previous.revNat() != svc.revNat()
          || (previous.flags() & MapLayouts.LB_AFFINITY) == 0
          || !members(previous).contains(id)) {
        put(affinityMatch, matchPuts, matchKey(id, svc.revNat()), new byte[] {1});
      }
    }
  }

  /** ... and removed after them. */
  private void removeStaleMatches(Service svc, Service previous) {
    if (previous == null || (previous.flags() & MapLayouts.LB_AFFINITY) == 0) {
      return;
    }
    java.util.Set<Integer> now =
        svc == null || (svc.flags() & MapLayouts.LB_AFFINITY) == 0
            ? java.util.Set.of()
            : members(svc);
    for (int id : members(previous)) {
      if (!now.contains(id) || svc.revNat() != previous.revNat()) {
        remove(affinityMatch, matchKey(id, previous.revNat()));
      }
    }
  }

  private static java.util.Set<Integer> members(Service s) {
    java.util.Set<Integer> all = new java.util.HashSet<>(s.active());
    all.addAll(s.terminating());
    return all;
  }

  @Override
  public void putBackend(int id, Address b) {
    byte[] v = Fields.buffer(LB_BACKEND);
    var s = Fields.segment(v);
    Fields.put(v, BE_ADDR, Fields.address(b.family(), b.address()));
    BE_PORT.set(s, (short) b.port());
    BE_PROTOCOL.set(s, (byte) b.protocol().number());
    BE_FAMILY.set(s, (byte) Fields.familyOf(b.family()));
    put(backends, backendPuts, Fields.intKey(id), v);
  }

  @Override
  public void deleteBackend(int id) {
    remove(backends, Fields.intKey(id));
  }

  @Override
  public void putRevNat(int id, Address f) {
    byte[] v = Fields.buffer(LB_REVNAT);
    var s = Fields.segment(v);
    Fields.put(v, RN_ADDR, Fields.address(f.family(), f.address()));
    RN_PORT.set(s, (short) f.port());
    RN_FAMILY.set(s, (byte) Fields.familyOf(f.family()));
    put(revNat, revNatPuts, Fields.intKey(id), v);
  }

  @Override
  public void deleteRevNat(int id) {
    remove(revNat, Fields.intKey(id));
  }

  @Override
  public void putFrontend(Address f, Service svc, Service previous) {
    addMatches(svc, previous);
    List<Integer> slots =
        new ArrayList<>(svc.active().isEmpty() ? svc.terminating() : svc.active());
    for (int i = 0; i < slots.size(); i++) {
      byte[] v = Fields.buffer(LB_SERVICE);
      SVC_BACKEND.set(Fields.segment(v), slots.get(i));
      put(services, slotPuts, key(f, i + 1), v);
    }
    byte[] v = Fields.buffer(LB_SERVICE);
    var s = Fields.segment(v);
    SVC_ACTIVE.set(s, (short) svc.active().size());
    SVC_TERMINATING.set(s, (short) (svc.active().isEmpty() ? svc.terminating().size() : 0));
    SVC_REVNAT.set(s, svc.revNat());
    SVC_AFFINITY.set(s, svc.affinityTimeout());
    SVC_FLAGS.set(s, (byte) svc.flags());
    put(services, headPuts, key(f, 0), v);
    if (previous != null) {
      int before = slotCount(previous);
      for (int i = slots.size() + 1; i <= before; i++) {
        remove(services, key(f, i));
      }
      removeStaleMatches(svc, previous);
    }
  }

  private static int slotCount(Service s) {
    return s.active().isEmpty() ? s.terminating().size() : s.active().size();
  }

  @Override
  public void deleteFrontend(Address f, Service previous) {
    remove(services, key(f, 0));
    int n = previous == null ? 0 : slotCount(previous);
    for (int i = 1; i <= n; i++) {
      remove(services, key(f, i));
    }
    removeStaleMatches(null, previous);
  }

  @Override
  public void putMaglev(int id, int[] backendIds) {
    if (batching) {
      int[] copy = backendIds.clone();
      tables.add(() -> writeMaglev(id, copy));
    } else {
      writeMaglev(id, backendIds);
    }
  }

  private void writeMaglev(int id, int[] backendIds) {
    try (BpfMap table =
        BpfMap.create(
            MapLayouts.MAP_TYPE_ARRAY, "porin_maglev", 4, 4, MapLayouts.LB_MAGLEV_SIZE, 0)) {
      byte[] keys = new byte[backendIds.length * 4];
      byte[] values = new byte[backendIds.length * 4];
      for (int i = 0; i < backendIds.length; i++) {
        putInt(keys, i * 4, i);
        putInt(values, i * 4, backendIds[i]);
      }
      table.updateBatch(keys, values, backendIds.length);
      maglev.updateInner(Fields.intKey(id), table);
    }
  }

  @Override
  public void deleteMaglev(int id) {
    remove(maglev, Fields.intKey(id));
  }

  /** One frontend, looked up (not iterated): its service entry and slots, if it has one. */
  public java.util.Optional<Service> frontend(Address f) {
    return services
        .lookup(key(f, 0))
        .map(
            v -> {
              var s = Fields.segment(v);
              int active = Short.toUnsignedInt((short) SVC_ACTIVE.get(s));
              int terminating = Short.toUnsignedInt((short) SVC_TERMINATING.get(s));
              List<Integer> a = new ArrayList<>();
              List<Integer> t = new ArrayList<>();
              for (int i = 1; i <= active + terminating; i++) {
                int slot = i;
                services
                    .lookup(key(f, i))
                    .ifPresent(
                        x ->
                            (slot <= active ? a : t).add((int) SVC_BACKEND.get(Fields.segment(x))));
              }
              return new Service(
                  (int) SVC_REVNAT.get(s),
                  Byte.toUnsignedInt((byte) SVC_FLAGS.get(s)),
                  (int) SVC_AFFINITY.get(s),
                  a,
                  t);
            });
  }

  /** One backend by its number. */
  public java.util.Optional<Address> backendById(int id) {
    return backends.lookup(Fields.intKey(id)).map(LoadBalancerMaps::backend);
  }

  /** The maps pinned under a node's pin directory (for tools outside the agent). */
  public static LoadBalancerMaps pinned(java.nio.file.Path pins) {
    return new LoadBalancerMaps(
        BpfMap.fromPin(
            pins.resolve("porin_lb_services"),
            "porin_lb_services",
            MapLayouts.size(LB_KEY),
            MapLayouts.size(LB_SERVICE)),
        BpfMap.fromPin(
            pins.resolve("porin_lb_backends"), "porin_lb_backends", 4, MapLayouts.size(LB_BACKEND)),
        BpfMap.fromPin(
            pins.resolve("porin_lb_revnat"), "porin_lb_revnat", 4, MapLayouts.size(LB_REVNAT)),
        BpfMap.fromPin(pins.resolve("porin_lb_maglev"), "porin_lb_maglev", 4, 4),
        BpfMap.fromPin(
            pins.resolve("porin_lb_affinity_match"),
            "porin_lb_affinity_match",
            MapLayouts.size(MapLayouts.LB_AFFINITY_MATCH_KEY),
            1));
  }

  @Override
  public State read() {
    Map<Integer, Address> bs = new TreeMap<>();
    for (byte[] k : backends.keys()) {
      int id = Fields.intOf(k);
      backends.lookup(k).ifPresent(v -> bs.put(id, backend(v)));
    }
    Map<Integer, Address> rn = new TreeMap<>();
    for (byte[] k : revNat.keys()) {
      int id = Fields.intOf(k);
      revNat.lookup(k).ifPresent(v -> rn.put(id, revNatAddress(v)));
    }
    Map<Address, byte[]> heads = new HashMap<>();
    Map<Address, Map<Integer, Integer>> slots = new HashMap<>();
    for (byte[] k : services.keys()) {
      var ks = Fields.segment(k);
      int slot = Short.toUnsignedInt((short) KEY_SLOT.get(ks));
      Address f = frontend(k);
      services
          .lookup(k)
          .ifPresent(
              v -> {
                if (slot == 0) {
                  heads.put(f, v);
                } else {
                  slots
                      .computeIfAbsent(f, x -> new TreeMap<>())
                      .put(slot, (int) SVC_BACKEND.get(Fields.segment(v)));
                }
              });
    }
    Map<Address, Service> fs = new HashMap<>();
    heads.forEach(
        (f, v) -> {
          var s = Fields.segment(v);
          int active = Short.toUnsignedInt((short) SVC_ACTIVE.get(s));
          int terminating = Short.toUnsignedInt((short) SVC_TERMINATING.get(s));
          Map<Integer, Integer> sl = slots.getOrDefault(f, Map.of());
          List<Integer> a = new ArrayList<>();
          List<Integer> t = new ArrayList<>();
          for (int i = 1; i <= active + terminating; i++) {
            Integer id = sl.get(i);
            if (id != null) {
              (i <= active ? a : t).add(id);
            }
          }
          fs.put(
              f,
              new Service(
                  (int) SVC_REVNAT.get(s),
                  Byte.toUnsignedInt((byte) SVC_FLAGS.get(s)),
                  (int) SVC_AFFINITY.get(s),
                  a,
                  t));
        });
    java.util.Set<Integer> tables = new java.util.TreeSet<>();
    for (byte[] k : maglev.keys()) {
      tables.add(Fields.intOf(k));
    }
    return new State(fs, bs, rn, tables);
  }

  private static byte[] key(Address f, int slot) {
    byte[] k = Fields.buffer(LB_KEY);
    var s = Fields.segment(k);
    Fields.put(k, KEY_ADDR, Fields.address(f.family(), f.address()));
    KEY_PORT.set(s, (short) f.port());
    KEY_PROTOCOL.set(s, (byte) f.protocol().number());
    KEY_FAMILY.set(s, (byte) Fields.familyOf(f.family()));
    KEY_SLOT.set(s, (short) slot);
    return k;
  }

  /** An address, port and protocol as a struct holds them (protocol null: none, ANY). */
  private static Address decode(
      byte[] b, long addr, VarHandle family, VarHandle port, VarHandle protocol) {
    var s = Fields.segment(b);
    Cidr.Family f = Fields.family((byte) family.get(s));
    return new Address(
        f,
        Fields.addressOf(f, Fields.get(b, addr, 16)),
        Short.toUnsignedInt((short) port.get(s)),
        protocol == null
            ? Protocol.ANY
            : Protocol.ofNumber(Byte.toUnsignedInt((byte) protocol.get(s))));
  }

  private static Address frontend(byte[] k) {
    return decode(k, KEY_ADDR, KEY_FAMILY, KEY_PORT, KEY_PROTOCOL);
  }

  private static Address backend(byte[] v) {
    return decode(v, BE_ADDR, BE_FAMILY, BE_PORT, BE_PROTOCOL);
  }

  private static Address revNatAddress(byte[] v) {
    return decode(v, RN_ADDR, RN_FAMILY, RN_PORT, null);
  }

  private static void putInt(byte[] b, int off, int v) {
    java.nio.ByteBuffer.wrap(b, off, 4).order(java.nio.ByteOrder.nativeOrder()).putInt(v);
  }
}
