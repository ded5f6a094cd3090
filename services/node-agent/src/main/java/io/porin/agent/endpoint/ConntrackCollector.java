package io.porin.agent.endpoint;

import io.porin.agent.datapath.ConntrackSweep;
import io.porin.agent.datapath.Datapath;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jboss.logging.Logger;

/**
 * Collects expired conntrack entries of every endpoint and measures each endpoint's conntrack
 * pressure (live entries / capacity). A map past {@link #ALARM} is logged once as it crosses: the
 * endpoint's own oldest connections are being evicted (other endpoints are unaffected: each has its
 * own map).
 */
public final class ConntrackCollector {
  private static final Logger LOG = Logger.getLogger(ConntrackCollector.class);

  /** The pressure at which an endpoint's conntrack is reported as filling up. */
  public static final double ALARM = 0.9;

  private final Datapath datapath;
  private final Endpoints endpoints;
  private final LongSupplier clock;
  private final Map<Integer, ConntrackSweep> last = new ConcurrentHashMap<>();
  private final AtomicLong removed = new AtomicLong();
  private final AtomicLong alarms = new AtomicLong();

  /**
   * @param clock the datapath's clock: CLOCK_MONOTONIC nanoseconds ({@code System::nanoTime} on
   *     Linux reads the same clock as bpf_ktime_get_ns)
   */
  public ConntrackCollector(Datapath datapath, Endpoints endpoints, LongSupplier clock) {
    this.datapath = datapath;
    this.endpoints = endpoints;
    this.clock = clock;
  }

  /** One pass over every endpoint. */
  public void collect() {
    for (LiveEndpoint live : endpoints.list()) {
      int id = live.endpoint().id();
      try {
        ConntrackSweep s = datapath.sweepConntrack(id, clock.getAsLong());
        removed.addAndGet(s.removed());
        ConntrackSweep before = last.put(id, s);
        if (s.pressure() >= ALARM && (before == null || before.pressure() < ALARM)) {
          alarms.incrementAndGet();
          LOG.warnf(
              "endpoint %d (%s): conntrack %d of %d entries (%.0f%%): its oldest connections are"
                  + " being evicted",
              id, live.endpoint().displayName(), s.live(), s.capacity(), 100 * s.pressure());
        }
      } catch (RuntimeException e) {
        LOG.debugf("endpoint %d: conntrack sweep: %s", id, e.getMessage());
      }
    }
    last.keySet().retainAll(endpoints.list().stream().map(l -> l.endpoint().id()).toList());
  }

  /** The last pass's figures, by endpoint. */
  public List<ConntrackSweep> last() {
    return List.copyOf(last.values());
  }

  /** Expired entries collected so far. */
  public long removed() {
    return removed.get();
  }

  /** Times an endpoint's conntrack crossed {@link #ALARM}. */
  public long alarms() {
    return alarms.get();
  }
}
