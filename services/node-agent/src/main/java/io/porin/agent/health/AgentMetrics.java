package io.porin.agent.health;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.maps.CounterMap;
import io.porin.agent.cni.CniServer;
import io.porin.agent.control.IpcacheSync;
import io.porin.agent.control.PolicySubscriber;
import io.porin.agent.datapath.ConntrackSweep;
import io.porin.agent.endpoint.ConntrackCollector;
import io.porin.agent.endpoint.EndpointState;
import io.porin.agent.endpoint.Endpoints;
import io.porin.agent.endpoint.LiveEndpoint;
import io.porin.agent.endpoint.PolicyEnforcer;
import io.porin.core.flow.DropReasons;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The agent's metrics, with Cilium's names where Cilium has one: endpoint states, the kernel's own
 * forward and drop counters (cilium_forward_count_total, cilium_drop_count_total by reason and
 * direction), map pressure of every endpoint's policy and conntrack map (cilium_bpf_map_pressure),
 * conntrack collection, policy revision, ipcache size, events.
 */
public final class AgentMetrics {
  private static final Logger LOG = Logger.getLogger(AgentMetrics.class);

  private final MeterRegistry registry;
  private final LinuxDatapath datapath;
  private final Endpoints endpoints;
  private final ConntrackCollector conntrack;
  private final MultiGauge mapPressure;
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  private volatile long eventsLost;

  public AgentMetrics(
      MeterRegistry registry,
      LinuxDatapath datapath,
      Endpoints endpoints,
      PolicyEnforcer enforcer,
      ConntrackCollector conntrack,
      PolicySubscriber policies,
      IpcacheSync ipcache,
      CniServer cni,
      AtomicLong events) {
    this.registry = registry;
    this.datapath = datapath;
    this.endpoints = endpoints;
    this.conntrack = conntrack;
    for (String state : EndpointState.NAMES) {
      Gauge.builder(
              "cilium_endpoint_state",
              () -> endpoints.list().stream().filter(l -> l.state().name().equals(state)).count())
          .tag("endpoint_state", state)
          .description("Endpoints of this node by state")
          .register(registry);
    }
    Gauge.builder("porin_policy_map_overflow_total", enforcer, PolicyEnforcer::overflows)
        .description("Times an endpoint's policy did not fit its policy map (endpoint locked down)")
        .register(registry);
    Gauge.builder("porin_agent_policy_revision", policies, PolicySubscriber::revision)
        .description("The policy revision this node enforces")
        .register(registry);
    Gauge.builder("porin_agent_ipcache_entries", ipcache, IpcacheSync::size)
        .description("Entries in the kernel ipcache")
        .register(registry);
    Gauge.builder("porin_agent_ipcache_remote_cluster_entries", ipcache, IpcacheSync::remoteSize)
        .description("Entries in the kernel ipcache for endpoints of connected clusters")
        .register(registry);
    FunctionCounter.builder(
            "porin_ipcache_refused_records_total", ipcache, i -> (double) i.refusedRecords())
        .description(
            "Records from etcd not believed: an endpoint or node record a node published about"
                + " what it does not hold (another node's pod address, a reserved identity, another"
                + " node's name or CIDRs)")
        .register(registry);
    Gauge.builder("porin_agent_events_total", events, AtomicLong::get)
        .description("Datapath events drained from the ring")
        .register(registry);
    FunctionCounter.builder("porin_conntrack_gc_entries_total", conntrack, c -> c.removed())
        .description("Expired conntrack entries collected")
        .register(registry);
    FunctionCounter.builder("porin_conntrack_pressure_alarms_total", conntrack, c -> c.alarms())
        .description(
            "Times an endpoint's conntrack map passed 90% (its own oldest connections evicted)")
        .register(registry);
    FunctionCounter.builder("porin_cni_refused_total", cni, CniServer::refused)
        .description("CNI connections refused: not root, too large or too slow")
        .register(registry);
    mapPressure =
        MultiGauge.builder("cilium_bpf_map_pressure")
            .description("Fill ratio of each endpoint's policy and conntrack map")
            .register(registry);
  }

  /** Events the datapath could not put in its ring, as of the last refresh. */
  public long eventsLost() {
    return eventsLost;
  }

  /** Reads the kernel counters and the maps' pressure: one read of each, every refresh. */
  public void refresh() {
    try {
      long lost = 0;
      for (CounterMap.Counter c : datapath.counters()) {
        if (c.reason() == MapLayouts.COUNTER_EVENTS_LOST) {
          lost += c.packets();
          continue;
        }
        String dir = c.direction() == MapLayouts.DIR_INGRESS ? "INGRESS" : "EGRESS";
        if (c.reason() == 0) {
          count("cilium_forward_count_total", c.packets(), "direction", dir);
          count("cilium_forward_bytes_total", c.bytes(), "direction", dir);
        } else {
          String reason = DropReasons.text(c.reason());
          count("cilium_drop_count_total", c.packets(), "reason", reason, "direction", dir);
          count("cilium_drop_bytes_total", c.bytes(), "reason", reason, "direction", dir);
        }
      }
      List<MultiGauge.Row<?>> rows = new ArrayList<>();
      for (LiveEndpoint l : endpoints.list()) {
        rows.add(
            MultiGauge.Row.of(
                Tags.of("map_name", "cilium_policy_" + l.endpoint().id()),
                (double) l.entries() / MapLayouts.POLICY_MAX));
      }
      for (ConntrackSweep s : conntrack.last()) {
        rows.add(
            MultiGauge.Row.of(Tags.of("map_name", "cilium_ct_" + s.endpointId()), s.pressure()));
      }
      mapPressure.register(rows, true);
      eventsLost = lost;
    } catch (RuntimeException e) {
      LOG.debugf("datapath metrics: %s", e.getMessage());
    }
  }

  private void count(String name, long value, String... tags) {
    counts
        .computeIfAbsent(
            name + String.join("\u0000", tags),
            k -> {
              AtomicLong a = new AtomicLong();
              FunctionCounter.builder(name, a, AtomicLong::get).tags(tags).register(registry);
              return a;
            })
        .set(value);
  }
}
