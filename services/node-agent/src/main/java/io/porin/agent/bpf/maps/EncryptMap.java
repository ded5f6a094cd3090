package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.ENCRYPT_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import io.porin.core.ipam.Cidr;
import java.lang.invoke.VarHandle;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code porin_encrypt}: the other nodes' pod prefixes (keyed as the ipcache), each flagged when
 * its node is a configured WireGuard peer.
 */
public final class EncryptMap {
  private static final VarHandle FLAGS = Fields.scalar(ENCRYPT_VALUE, "flags");

  private final BpfMap map;

  public EncryptMap(BpfMap map) {
    this.map = map;
  }

  public void put(Map<Cidr, Boolean> prefixes) {
    int n = prefixes.size();
    if (n == 0) {
      return;
    }
    int ks = map.keySize();
    int vs = map.valueSize();
    byte[] keys = new byte[n * ks];
    byte[] values = new byte[n * vs];
    int i = 0;
    for (Map.Entry<Cidr, Boolean> e : prefixes.entrySet()) {
      System.arraycopy(IpcacheMap.key(e.getKey()), 0, keys, i * ks, ks);
      byte[] v = Fields.buffer(ENCRYPT_VALUE);
      FLAGS.set(Fields.segment(v), e.getValue() ? MapLayouts.ENCRYPT_PEER : 0);
      System.arraycopy(v, 0, values, i * vs, vs);
      i++;
    }
    map.updateBatch(keys, values, n);
  }

  public boolean delete(Cidr prefix) {
    return map.delete(IpcacheMap.key(prefix));
  }

  public Map<Cidr, Boolean> all() {
    Map<Cidr, Boolean> out = new LinkedHashMap<>();
    for (byte[] k : map.keys()) {
      map.lookup(k)
          .ifPresent(
              v ->
                  out.put(
                      IpcacheMap.prefix(k),
                      ((int) FLAGS.get(Fields.segment(v)) & MapLayouts.ENCRYPT_PEER) != 0));
    }
    return out;
  }
}
