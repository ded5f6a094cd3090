package io.porin.agent.flow;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.agent.bpf.DatapathEvent;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.TCPFlags;
import io.porin.api.hubble.flow.Verdict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * From the datapath's event ring to flows: each record is decoded and enriched ({@link
 * FlowBuilder}), counted in Hubble's metrics, and at the end of each drain the batch goes into the
 * ring (and its followers) and, when configured, the export file. Runs on the event reader's one
 * thread.
 */
public final class FlowPipeline implements Consumer<byte[]> {
  private static final Logger LOG = Logger.getLogger(FlowPipeline.class);
  private static final int MAX_BATCH = 4096;

  private final FlowBuilder builder;
  private final FlowRing ring;
  private final FlowExport export;
  private final MeterRegistry metrics;
  private final LongSupplier datapathLost;
  private final List<Flow> batch = new ArrayList<>();
  private final Map<String, Counter> counters = new HashMap<>();
  private long sequence;
  private volatile long lost;
  private final long started = System.nanoTime();
  private final long[] rateSamples = new long[61];
  private final long[] rateTimes = new long[61];
  private int rateIndex;

  /**
   * @param export null when flows are not exported
   * @param datapathLost the datapath's count of events it could not put in its ring
   */
  public FlowPipeline(
      FlowBuilder builder,
      FlowRing ring,
      FlowExport export,
      MeterRegistry metrics,
      LongSupplier datapathLost) {
    this.builder = builder;
    this.ring = ring;
    this.export = export;
    this.metrics = metrics;
    this.datapathLost = datapathLost;
    // Registered from the start, so that "no loss" reads as 0 rather than as no series.
    counter("hubble_lost_events_total", "source", "perf_event_ring_buffer");
  }

  public FlowRing ring() {
    return ring;
  }

  /** Events the datapath lost (its ring was full) as of the last drain. */
  public long lost() {
    return lost;
  }

  public long uptimeNanos() {
    return System.nanoTime() - started;
  }

  /** Flows per second over the last minute (or since start). */
  public synchronized double rate() {
    int oldest = (rateIndex + 1) % rateSamples.length;
    long t0 = rateTimes[oldest] == 0 ? started : rateTimes[oldest];
    long s0 = rateTimes[oldest] == 0 ? 0 : rateSamples[oldest];
    double secs = (System.nanoTime() - t0) / 1e9;
    return secs <= 0 ? 0 : (ring.seen() - s0) / secs;
  }

  @Override
  public void accept(byte[] record) {
    Flow f = builder.build(DatapathEvent.decode(record), sequence++);
    count(f);
    batch.add(f);
    if (batch.size() >= MAX_BATCH) {
      flush();
    }
  }

  /** Ends a drain: the batch goes to the ring, its followers and the export. */
  public void flush() {
    if (!batch.isEmpty()) {
      List<Flow> done = List.copyOf(batch);
      batch.clear();
      ring.addAll(done);
      if (export != null) {
        try {
          export.write(done);
        } catch (RuntimeException e) {
          LOG.warnf("flow export: %s", e.getMessage());
        }
      }
    }
    long l = datapathLost.getAsLong();
    if (l > lost) {
      counter("hubble_lost_events_total", "source", "perf_event_ring_buffer").increment(l - lost);
      lost = l;
    }
    sample();
  }

  private synchronized void sample() {
    long now = System.nanoTime();
    if (now - rateTimes[rateIndex] >= 1_000_000_000L) {
      rateIndex = (rateIndex + 1) % rateSamples.length;
      rateTimes[rateIndex] = now;
      rateSamples[rateIndex] = ring.seen();
    }
  }

  // Counters by small indexes, created on first use: no strings are built per flow.
  private final Counter[] processed = new Counter[2 * 8];
  private final Map<Integer, Counter> drops = new HashMap<>();
  private final Counter[] verdicts = new Counter[3 * 6 * 8];
  private final Counter[] tcpFlags = new Counter[4 * 3];
  private static final String[] FLAG_NAMES = {"SYN", "SYN-ACK", "FIN", "RST"};

  /** Hubble's flow metrics, with Hubble's names and labels. */
  private void count(Flow f) {
    int v = f.getVerdictValue() & 7;
    boolean policyVerdict = f.getEventType().getType() == 5;
    int pi = (policyVerdict ? 8 : 0) + v;
    if (processed[pi] == null) {
      processed[pi] =
          counter(
              "hubble_flows_processed_total",
              "type",
              policyVerdict ? "PolicyVerdict" : "Drop",
              "subtype",
              "",
              "verdict",
              f.getVerdict().name());
    }
    processed[pi].increment();
    if (f.getVerdict() == Verdict.DROPPED) {
      int key = f.getDropReasonDescValue() * 8 + f.getL4().getProtocolCase().getNumber();
      Counter c = drops.get(key);
      if (c == null) {
        c =
            counter(
                "hubble_drop_total",
                "reason",
                f.getDropReasonDesc().name(),
                "protocol",
                protocol(f));
        drops.put(key, c);
      }
      c.increment();
    }
    if (policyVerdict) {
      int d = f.getTrafficDirectionValue() % 3;
      int m = Math.min(f.getPolicyMatchType(), 5);
      int vi = (d * 6 + m) * 8 + v;
      if (verdicts[vi] == null) {
        verdicts[vi] =
            counter(
                "hubble_policy_verdicts_total",
                "direction",
                f.getTrafficDirection().name().toLowerCase(Locale.ROOT),
                "match",
                io.porin.core.flow.PolicyMatchTypes.name(f.getPolicyMatchType()),
                "action",
                f.getVerdict().name().toLowerCase(Locale.ROOT));
      }
      verdicts[vi].increment();
    }
    if (f.getL4().hasTCP()) {
      TCPFlags t = f.getL4().getTCP().getFlags();
      int fam = f.getIP().getIpVersionValue() % 3;
      if (t.getSYN()) {
        tcp(t.getACK() ? 1 : 0, fam, f);
      }
      if (t.getFIN()) {
        tcp(2, fam, f);
      }
      if (t.getRST()) {
        tcp(3, fam, f);
      }
    }
  }

  private void tcp(int flag, int family, Flow f) {
    int i = flag * 3 + family;
    if (tcpFlags[i] == null) {
      tcpFlags[i] =
          counter(
              "hubble_tcp_flags_total",
              "flag",
              FLAG_NAMES[flag],
              "family",
              f.getIP().getIpVersion().name());
    }
    tcpFlags[i].increment();
  }

  private Counter counter(String name, String... tags) {
    String key = name + String.join("\u0000", tags);
    Counter c = counters.get(key);
    if (c == null) {
      c = Counter.builder(name).tags(tags).register(metrics);
      counters.put(key, c);
    }
    return c;
  }

  static String protocol(Flow f) {
    var l4 = f.getL4();
    return l4.hasTCP()
        ? "TCP"
        : l4.hasUDP()
            ? "UDP"
            : l4.hasSCTP()
                ? "SCTP"
                : l4.hasICMPv4() ? "ICMPv4" : l4.hasICMPv6() ? "ICMPv6" : "Unknown";
  }
}
