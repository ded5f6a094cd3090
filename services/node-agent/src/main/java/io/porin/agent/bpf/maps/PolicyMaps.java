package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_KEY;
import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_KEY_BASE_BITS;
import static io.porin.agent.bpf.MapLayouts.CIDR_CLASS_VALUE;
import static io.porin.agent.bpf.MapLayouts.POLICY_KEY;
import static io.porin.agent.bpf.MapLayouts.POLICY_KEY_BASE_BITS;
import static io.porin.agent.bpf.MapLayouts.POLICY_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyMapOverflowException;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Each endpoint's policy, double-buffered: two slots, each a policy map (an LPM trie pinned under
 * {@code policy/<endpoint>-<slot>} and registered in {@code porin_policy}) and a set of ipBlock
 * address classes (in {@code porin_cidr_classes}, keyed with the slot). The agent writes the slot
 * that is not live, then switches the endpoint to it in one update.
 *
 * <p>Writes are diffs against what this process last wrote to a slot, read from the kernel once
 * (pinned maps outlive the process) and again after a failure.
 */
public final class PolicyMaps {
  private static final VarHandle K_PREFIXLEN = Fields.scalar(POLICY_KEY, "prefixlen");
  private static final VarHandle K_IDENTITY = Fields.scalar(POLICY_KEY, "identity");
  private static final VarHandle K_DIRECTION = Fields.scalar(POLICY_KEY, "direction");
  private static final VarHandle K_PROTOCOL = Fields.scalar(POLICY_KEY, "protocol");
  private static final VarHandle K_PORT = Fields.scalar(POLICY_KEY, "port");
  private static final VarHandle V_VERDICT = Fields.scalar(POLICY_VALUE, "verdict");
  private static final VarHandle V_PREFIX_LEN = Fields.scalar(POLICY_VALUE, "prefix_len");
  private static final VarHandle V_COOKIE = Fields.scalar(POLICY_VALUE, "cookie");
  private static final VarHandle C_PREFIXLEN = Fields.scalar(CIDR_CLASS_KEY, "prefixlen");
  private static final VarHandle C_ENDPOINT = Fields.scalar(CIDR_CLASS_KEY, "endpoint_id");
  private static final VarHandle C_DIRECTION = Fields.scalar(CIDR_CLASS_KEY, "direction");
  private static final VarHandle C_FAMILY = Fields.scalar(CIDR_CLASS_KEY, "family");
  private static final VarHandle C_SLOT = Fields.scalar(CIDR_CLASS_KEY, "slot");
  private static final long C_ADDR = Fields.bytes(CIDR_CLASS_KEY, "addr");
  private static final VarHandle C_CLASS = Fields.scalar(CIDR_CLASS_VALUE, "class_id");

  /** An endpoint's slot, or an endpoint's slot and direction (classes). */
  private record Slot(int endpointId, int slot) {}

  private record ClassSlot(int endpointId, int slot, int direction) {}

  private final BpfMap outer;
  private final BpfMap classes;
  private final Path pins;
  private final Map<Slot, BpfMap> maps = new HashMap<>();
  private final Map<Slot, Map<PolicyKey, PolicyValue>> written = new HashMap<>();
  private Map<ClassSlot, Map<Cidr, Integer>> classesWritten;

  public PolicyMaps(BpfMap outer, BpfMap classes, Path pins) {
    this.outer = outer;
    this.classes = classes;
    this.pins = pins;
    try {
      Files.createDirectories(pins);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes a slot hold {@code content}; refuses whole what does not fit. */
  public synchronized int write(int endpointId, int slot, PolicyContent content) {
    if (content.entries().size() > MapLayouts.POLICY_MAX) {
      throw new PolicyMapOverflowException(
          endpointId, content.entries().size(), MapLayouts.POLICY_MAX);
    }
    Slot s = new Slot(endpointId, slot);
    BpfMap map = mapOf(s, true);
    Map<PolicyKey, PolicyValue> current = written.computeIfAbsent(s, x -> read(map));
    int changes = 0;
    try {
      for (Map.Entry<PolicyKey, PolicyValue> e : content.entries().entrySet()) {
        if (!e.getValue().equals(current.get(e.getKey()))) {
          map.update(key(e.getKey()), value(e.getKey(), e.getValue()));
          changes++;
        }
      }
      for (PolicyKey k : current.keySet()) {
        if (!content.entries().containsKey(k)) {
          map.delete(key(k));
          changes++;
        }
      }
    } catch (RuntimeException e) {
      written.remove(s); // the kernel is the truth again next time
      throw e;
    }
    written.put(s, new HashMap<>(content.entries()));
    changes += writeClasses(endpointId, slot, MapLayouts.DIR_INGRESS, content.ingressClasses());
    changes += writeClasses(endpointId, slot, MapLayouts.DIR_EGRESS, content.egressClasses());
    return changes;
  }

  /** A slot's policy map as the kernel holds it (empty when it has none). */
  public synchronized Map<PolicyKey, PolicyValue> read(int endpointId, int slot) {
    BpfMap map = mapOf(new Slot(endpointId, slot), false);
    return map == null ? Map.of() : read(map);
  }

  /** Removes both slots of an endpoint: maps, registrations, pins and classes. */
  public synchronized void forget(int endpointId) {
    for (int slot = 0; slot < MapLayouts.POLICY_SLOTS; slot++) {
      Slot s = new Slot(endpointId, slot);
      outer.delete(Fields.intKey(outerKey(s)));
      written.remove(s);
      BpfMap map = maps.remove(s);
      if (map != null) {
        map.close();
      }
      try {
        Files.deleteIfExists(pin(s));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      for (int dir : new int[] {MapLayouts.DIR_INGRESS, MapLayouts.DIR_EGRESS}) {
        writeClasses(endpointId, slot, dir, Map.of());
      }
    }
  }

  private BpfMap mapOf(Slot s, boolean create) {
    BpfMap map = maps.get(s);
    if (map == null && Files.exists(pin(s))) {
      map = BpfMap.fromPin(pin(s), "policy_" + s, size(POLICY_KEY), size(POLICY_VALUE));
      maps.put(s, map);
    }
    if (map == null && create) {
      map =
          BpfMap.create(
              MapLayouts.MAP_TYPE_LPM_TRIE,
              "porin_pol_" + s.endpointId() + "_" + s.slot(),
              size(POLICY_KEY),
              size(POLICY_VALUE),
              MapLayouts.POLICY_MAX,
              MapLayouts.MAP_F_NO_PREALLOC);
      map.pin(pin(s));
      maps.put(s, map);
    }
    if (map != null && create) {
      outer.updateInner(Fields.intKey(outerKey(s)), map);
    }
    return map;
  }

  private static int outerKey(Slot s) {
    return (s.endpointId() << 1) | (s.slot() & 1);
  }

  private Path pin(Slot s) {
    return pins.resolve(s.endpointId() + "-" + s.slot());
  }

  private static int size(java.lang.foreign.StructLayout l) {
    return (int) l.byteSize();
  }

  private static Map<PolicyKey, PolicyValue> read(BpfMap map) {
    Map<PolicyKey, PolicyValue> out = new HashMap<>();
    for (byte[] k : map.keys()) {
      map.lookup(k).ifPresent(v -> out.put(policyKey(k), policyValue(v)));
    }
    return out;
  }

  static byte[] key(PolicyKey p) {
    byte[] k = Fields.buffer(POLICY_KEY);
    var s = Fields.segment(k);
    K_PREFIXLEN.set(s, POLICY_KEY_BASE_BITS + p.prefixLength());
    K_IDENTITY.set(s, p.identity());
    K_DIRECTION.set(s, (byte) p.direction());
    K_PROTOCOL.set(s, (byte) p.protocol());
    K_PORT.set(s, (short) p.port());
    return k;
  }

  static PolicyKey policyKey(byte[] k) {
    var s = Fields.segment(k);
    return new PolicyKey(
        (int) K_IDENTITY.get(s),
        (byte) K_DIRECTION.get(s) & 0xFF,
        (byte) K_PROTOCOL.get(s) & 0xFF,
        (short) K_PORT.get(s) & 0xFFFF,
        (int) K_PREFIXLEN.get(s) - POLICY_KEY_BASE_BITS);
  }

  static byte[] value(PolicyKey k, PolicyValue p) {
    byte[] v = Fields.buffer(POLICY_VALUE);
    var s = Fields.segment(v);
    V_VERDICT.set(s, (byte) p.verdict());
    V_PREFIX_LEN.set(s, (byte) k.prefixLength());
    V_COOKIE.set(s, p.cookie());
    return v;
  }

  static PolicyValue policyValue(byte[] v) {
    var s = Fields.segment(v);
    return new PolicyValue((byte) V_VERDICT.get(s) & 0xFF, (int) V_COOKIE.get(s));
  }

  // ---- ipBlock address classes, per endpoint, slot and direction

  private int writeClasses(int endpointId, int slot, int direction, Map<Cidr, Integer> want) {
    if (classesWritten == null) {
      classesWritten = readClasses();
    }
    ClassSlot cs = new ClassSlot(endpointId, slot, direction);
    Map<Cidr, Integer> current = classesWritten.getOrDefault(cs, Map.of());
    int changes = 0;
    try {
      for (Map.Entry<Cidr, Integer> e : want.entrySet()) {
        if (!e.getValue().equals(current.get(e.getKey()))) {
          byte[] v = Fields.buffer(CIDR_CLASS_VALUE);
          C_CLASS.set(Fields.segment(v), e.getValue().intValue());
          classes.update(classKey(cs, e.getKey()), v);
          changes++;
        }
      }
      for (Cidr c : current.keySet()) {
        if (!want.containsKey(c)) {
          classes.delete(classKey(cs, c));
          changes++;
        }
      }
    } catch (RuntimeException e) {
      classesWritten = null; // read the kernel again next time
      throw e;
    }
    if (want.isEmpty()) {
      classesWritten.remove(cs);
    } else {
      classesWritten.put(cs, new HashMap<>(want));
    }
    return changes;
  }

  private Map<ClassSlot, Map<Cidr, Integer>> readClasses() {
    Map<ClassSlot, Map<Cidr, Integer>> out = new HashMap<>();
    for (byte[] k : classes.keys()) {
      var s = Fields.segment(k);
      ClassSlot cs =
          new ClassSlot(
              (int) C_ENDPOINT.get(s),
              (byte) C_SLOT.get(s) & 0xFF,
              (byte) C_DIRECTION.get(s) & 0xFF);
      Cidr prefix =
          Fields.cidr(
              (byte) C_FAMILY.get(s) & 0xFF,
              Fields.get(k, C_ADDR, 16),
              (int) C_PREFIXLEN.get(s) - CIDR_CLASS_KEY_BASE_BITS);
      classes
          .lookup(k)
          .ifPresent(
              v ->
                  out.computeIfAbsent(cs, x -> new HashMap<>())
                      .put(prefix, (int) C_CLASS.get(Fields.segment(v))));
    }
    return out;
  }

  private static byte[] classKey(ClassSlot cs, Cidr c) {
    byte[] k = Fields.buffer(CIDR_CLASS_KEY);
    var s = Fields.segment(k);
    C_PREFIXLEN.set(s, CIDR_CLASS_KEY_BASE_BITS + c.prefixLength());
    C_ENDPOINT.set(s, cs.endpointId());
    C_DIRECTION.set(s, (byte) cs.direction());
    C_FAMILY.set(s, (byte) Fields.familyOf(c.family()));
    C_SLOT.set(s, (byte) cs.slot());
    Fields.put(k, C_ADDR, Fields.address(c.family(), c.network()));
    return k;
  }

  public synchronized void close() {
    maps.values().forEach(BpfMap::close);
    maps.clear();
  }
}
