package io.porin.agent.bpf.maps;

import static io.porin.agent.bpf.MapLayouts.COUNTER;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code porin_counters}: per-CPU packets and bytes by drop reason (0 = forwarded) and direction.
 */
public final class CounterMap {
  private static final long PACKETS = Fields.bytes(COUNTER, "packets");
  private static final long BYTES = Fields.bytes(COUNTER, "bytes");
  private static final long STRIDE = COUNTER.byteSize();

  /** Packets and bytes of one counter, summed over CPUs. */
  public record Counter(int reason, int direction, long packets, long bytes) {}

  private final BpfMap map;
  private final int cpus;

  public CounterMap(BpfMap map, int cpus) {
    this.map = map;
    this.cpus = cpus;
  }

  /** Every non-zero counter, summed over CPUs. */
  public List<Counter> all() {
    List<Counter> out = new ArrayList<>();
    for (int i = 0; i < MapLayouts.COUNTERS_MAX; i++) {
      byte[] v = map.lookup(Fields.intKey(i)).orElse(null);
      if (v == null) {
        continue;
      }
      var s = Fields.segment(v);
      long packets = 0;
      long bytes = 0;
      for (int cpu = 0; cpu < cpus; cpu++) {
        packets += s.get(ValueLayout.JAVA_LONG_UNALIGNED, cpu * STRIDE + PACKETS);
        bytes += s.get(ValueLayout.JAVA_LONG_UNALIGNED, cpu * STRIDE + BYTES);
      }
      if (packets != 0) {
        out.add(new Counter(i / 2, i % 2, packets, bytes));
      }
    }
    return out;
  }
}
