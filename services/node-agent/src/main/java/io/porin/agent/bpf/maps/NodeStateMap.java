package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.NODE_STATE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import java.lang.foreign.MemoryLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@code porin_state}: the node-wide ipcache generation, the last endpoint revision, the uplinks
 * and the encryption mode.
 */
public final class NodeStateMap {
  private static final VarHandle IPCACHE_GENERATION =
      Fields.scalar(NODE_STATE, "ipcache_generation");
  private static final VarHandle LAST_REVISION = Fields.scalar(NODE_STATE, "last_revision");
  private static final VarHandle WG_IFINDEX = Fields.scalar(NODE_STATE, "wg_ifindex");
  private static final VarHandle ENCRYPT = Fields.scalar(NODE_STATE, "encrypt");
  private static final VarHandle DEVICES =
      MethodHandles.insertCoordinates(
          NODE_STATE.varHandle(
              MemoryLayout.PathElement.groupElement("devices"),
              MemoryLayout.PathElement.sequenceElement()),
          1,
          0L);
  private static final byte[] ZERO = Fields.intKey(0);

  private final BpfMap map;

  public NodeStateMap(BpfMap map) {
    this.map = map;
  }

  public synchronized int ipcacheGeneration() {
    return (int) IPCACHE_GENERATION.get(Fields.segment(read()));
  }

  /** Bumps the ipcache generation (wrapping); returns the new one. */
  public synchronized int bumpIpcacheGeneration() {
    byte[] v = read();
    var s = Fields.segment(v);
    int next = (int) IPCACHE_GENERATION.get(s) + 1;
    IPCACHE_GENERATION.set(s, next);
    map.update(ZERO, v);
    return next;
  }

  /**
   * Adds an uplink (host routing goes out of these only).
   *
   * @throws IllegalStateException naming the limit when the node has as many as it can hold
   */
  public synchronized void addDevice(int ifindex) {
    byte[] v = read();
    var s = Fields.segment(v);
    for (int i = 0; i < MapLayouts.DEVICES_MAX; i++) {
      int at = (int) DEVICES.get(s, (long) i);
      if (at == ifindex) {
        return;
      }
      if (at == 0) {
        DEVICES.set(s, (long) i, ifindex);
        map.update(ZERO, v);
        return;
      }
    }
    throw new IllegalStateException(
        "porin.agent.devices: at most " + MapLayouts.DEVICES_MAX + " uplinks, got one more");
  }

  /** The WireGuard device (0: none) and the encryption mode ({@code PORIN_ENCRYPT_*}). */
  public synchronized void setEncryption(int wgIfindex, int mode) {
    byte[] v = read();
    var s = Fields.segment(v);
    WG_IFINDEX.set(s, wgIfindex);
    ENCRYPT.set(s, mode);
    map.update(ZERO, v);
  }

  public synchronized int wgIfindex() {
    return (int) WG_IFINDEX.get(Fields.segment(read()));
  }

  public synchronized int encryptMode() {
    return (int) ENCRYPT.get(Fields.segment(read()));
  }

  public synchronized int lastRevision() {
    return (int) LAST_REVISION.get(Fields.segment(read()));
  }

  public synchronized void saveLastRevision(int revision) {
    byte[] v = read();
    LAST_REVISION.set(Fields.segment(v), revision);
    map.update(ZERO, v);
  }

  private byte[] read() {
    return map.lookup(ZERO).orElseGet(() -> Fields.buffer(NODE_STATE));
  }
}
