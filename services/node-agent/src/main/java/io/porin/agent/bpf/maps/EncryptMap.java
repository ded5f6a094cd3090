package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.ENCRYPT_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.core.ipam.Cidr;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/** {@code porin_encrypt}: the pod prefixes of the node's WireGuard peers (keyed as the ipcache). */
public final class EncryptMap {
  private final BpfMap map;

  public EncryptMap(BpfMap map) {
    this.map = map;
  }

  public void put(Collection<Cidr> prefixes) {
    int n = prefixes.size();
    if (n == 0) {
      return;
    }
    int ks = map.keySize();
    int vs = map.valueSize();
    byte[] keys = new byte[n * ks];
    byte[] values = new byte[n * vs];
    int i = 0;
    for (Cidr c : prefixes) {
      System.arraycopy(IpcacheMap.key(c), 0, keys, i * ks, ks);
      System.arraycopy(Fields.buffer(ENCRYPT_VALUE), 0, values, i * vs, vs);
      i++;
    }
    map.updateBatch(keys, values, n);
  }

  public boolean delete(Cidr prefix) {
    return map.delete(IpcacheMap.key(prefix));
  }

  public Set<Cidr> all() {
    Set<Cidr> out = new LinkedHashSet<>();
    for (byte[] k : map.keys()) {
      out.add(IpcacheMap.prefix(k));
    }
    return out;
  }
}
