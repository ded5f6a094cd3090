package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.LXC_KEY;
import static io.porin.agent.bpf.MapLayouts.LXC_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.core.ipam.Cidr;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;

/** {@code porin_lxc}: a local endpoint's address to its host-side ifindex (the fast path). */
public final class LocalAddressMap {
  private static final VarHandle FAMILY = Fields.scalar(LXC_KEY, "family");
  private static final long ADDR = Fields.bytes(LXC_KEY, "addr");
  private static final VarHandle IFINDEX = Fields.scalar(LXC_VALUE, "ifindex");

  private final BpfMap map;

  public LocalAddressMap(BpfMap map) {
    this.map = map;
  }

  public void put(Cidr.Family family, BigInteger address, int ifindex) {
    byte[] v = Fields.buffer(LXC_VALUE);
    IFINDEX.set(Fields.segment(v), ifindex);
    map.update(key(family, address), v);
  }

  public boolean delete(Cidr.Family family, BigInteger address) {
    return map.delete(key(family, address));
  }

  private static byte[] key(Cidr.Family family, BigInteger address) {
    byte[] k = Fields.buffer(LXC_KEY);
    FAMILY.set(Fields.segment(k), (byte) Fields.familyOf(family));
    Fields.put(k, ADDR, Fields.address(family, address));
    return k;
  }
}
