package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.IPCACHE_KEY;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_KEY_BASE_BITS;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.core.ipam.Cidr;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** {@code porin_ipcache}: address prefix to identity, longest prefix wins. */
public final class IpcacheMap {
  private static final VarHandle PREFIXLEN = Fields.scalar(IPCACHE_KEY, "prefixlen");
  private static final VarHandle FAMILY = Fields.scalar(IPCACHE_KEY, "family");
  private static final long ADDR = Fields.bytes(IPCACHE_KEY, "addr");
  private static final VarHandle IDENTITY = Fields.scalar(IPCACHE_VALUE, "identity");

  private final BpfMap map;

  public IpcacheMap(BpfMap map) {
    this.map = map;
  }

  /** Writes many entries in one call. */
  public void put(Map<Cidr, Integer> entries) {
    int n = entries.size();
    int ks = map.keySize();
    int vs = map.valueSize();
    byte[] keys = new byte[n * ks];
    byte[] values = new byte[n * vs];
    int i = 0;
    for (Map.Entry<Cidr, Integer> e : entries.entrySet()) {
      System.arraycopy(key(e.getKey()), 0, keys, i * ks, ks);
      System.arraycopy(value(e.getValue()), 0, values, i * vs, vs);
      i++;
    }
    map.updateBatch(keys, values, n);
  }

  public boolean delete(Cidr prefix) {
    return map.delete(key(prefix));
  }

  /** Every entry, as the kernel holds it. */
  public Map<Cidr, Integer> all() {
    Map<Cidr, Integer> out = new LinkedHashMap<>();
    for (byte[] k : map.keys()) {
      map.lookup(k).ifPresent(v -> out.put(prefix(k), identity(v)));
    }
    return out;
  }

  /** The identity the datapath would give an address (longest prefix), if any. */
  public Optional<Integer> lookup(Cidr.Family family, BigInteger address) {
    return map.lookup(key(Cidr.host(family, address))).map(IpcacheMap::identity);
  }

  static byte[] key(Cidr prefix) {
    byte[] k = Fields.buffer(IPCACHE_KEY);
    var s = Fields.segment(k);
    PREFIXLEN.set(s, IPCACHE_KEY_BASE_BITS + prefix.prefixLength());
    FAMILY.set(s, (byte) Fields.familyOf(prefix.family()));
    Fields.put(k, ADDR, Fields.address(prefix.family(), prefix.network()));
    return k;
  }

  static Cidr prefix(byte[] k) {
    var s = Fields.segment(k);
    return Fields.cidr(
        (byte) FAMILY.get(s) & 0xFF,
        Fields.get(k, ADDR, 16),
        (int) PREFIXLEN.get(s) - IPCACHE_KEY_BASE_BITS);
  }

  static byte[] value(int identity) {
    byte[] v = Fields.buffer(IPCACHE_VALUE);
    IDENTITY.set(Fields.segment(v), identity);
    return v;
  }

  static int identity(byte[] v) {
    return (int) IDENTITY.get(Fields.segment(v));
  }
}
