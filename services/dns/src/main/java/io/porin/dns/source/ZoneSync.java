package io.porin.dns.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.core.service.ServiceRecord;
import io.porin.dns.zone.AddressNames;
import io.porin.dns.zone.DnsZone;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.io.IOException;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Keeps a {@link DnsZone} equal to etcd: a snapshot and then a watch of the services ({@code
 * /porin/v1/services/}) and of the published pod addresses ({@code /porin/v1/endpoints/}). Every
 * change rebuilds the zone from everything known (no branching on what changed) and swaps it in;
 * queries read whichever zone is current. A record that cannot be read is logged once, with its
 * key, and left out.
 */
public final class ZoneSync implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ZoneSync.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KvStore kv;
  private final String domain;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile DnsZone zone;

  // Guarded by this object's monitor (the two watches deliver on their own threads).
  private final Map<String, DnsZone.Service> services = new HashMap<>();
  private final Map<String, DnsZone.Pod> pods = new HashMap<>();
  private final Map<String, String> malformed = new HashMap<>();
  private boolean servicesLoaded;
  private boolean endpointsLoaded;
  private long revision;
  private AutoCloseable serviceWatch;
  private AutoCloseable endpointWatch;

  public ZoneSync(KvStore kv, String domain) {
    this.kv = kv;
    this.domain = domain;
    this.zone = DnsZone.unloaded(domain);
  }

  /** Starts both watches in the background, retrying until etcd answers. */
  public void start() {
    Thread.ofVirtual().name("dns-zone-sync").start(() -> watch(Keys.Services.PREFIX, true));
    Thread.ofVirtual().name("dns-zone-sync").start(() -> watch(Keys.Endpoints.PREFIX, false));
  }

  /** The current zone (unloaded until both prefixes were read). */
  public DnsZone zone() {
    return zone;
  }

  /** Whether both prefixes were read at least once. */
  public boolean loaded() {
    return zone.loaded();
  }

  private void watch(String prefix, boolean isServices) {
    long backoff = 200;
    while (!closed.get()) {
      try {
        AutoCloseable w = kv.watch(prefix, 0, new Listener(isServices));
        synchronized (this) {
          if (closed.get()) {
            w.close();
            return;
          }
          if (isServices) {
            serviceWatch = w;
          } else {
            endpointWatch = w;
          }
        }
        return;
      } catch (Exception e) {
        LOG.warnf(
            "cannot read %s from etcd (%s); retrying in %d ms", prefix, e.getMessage(), backoff);
        try {
          Thread.sleep(backoff);
        } catch (InterruptedException ie) {
          return;
        }
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** One prefix's changes, applied under the lock. */
  private final class Listener implements WatchListener {
    private final boolean isServices;

    Listener(boolean isServices) {
      this.isServices = isServices;
    }

    @Override
    public void onReset(Snapshot snapshot) {
      synchronized (ZoneSync.this) {
        String prefix = isServices ? Keys.Services.PREFIX : Keys.Endpoints.PREFIX;
        (isServices ? services : pods).clear();
        malformed.keySet().removeIf(k -> k.startsWith(prefix));
        for (Entry e : snapshot.entries()) {
          putLocked(isServices, e);
        }
        if (isServices) {
          servicesLoaded = true;
        } else {
          endpointsLoaded = true;
        }
        publishLocked(snapshot.revision());
      }
    }

    @Override
    public void onEvents(List<WatchEvent> events) {
      synchronized (ZoneSync.this) {
        for (WatchEvent e : events) {
          if (e.type() == WatchEvent.Type.DELETE) {
            (isServices ? services : pods).remove(e.entry().key());
            malformed.remove(e.entry().key());
          } else {
            putLocked(isServices, e.entry());
          }
        }
        publishLocked(events.getLast().revision());
      }
    }

    @Override
    public void onClosed(Throwable cause) {
      if (!closed.get()) {
        String prefix = isServices ? Keys.Services.PREFIX : Keys.Endpoints.PREFIX;
        LOG.warnf("watch of %s ended (%s); watching afresh", prefix, cause);
        Thread.ofVirtual().name("dns-zone-sync").start(() -> watch(prefix, isServices));
      }
    }
  }

  private void putLocked(boolean isServices, Entry e) {
    try {
      if (isServices) {
        services.put(e.key(), DnsZone.Service.of(ServiceRecord.parse(e.value())));
      } else {
        DnsZone.Pod pod = pod(e);
        if (pod == null) {
          pods.remove(e.key());
        } else {
          pods.put(e.key(), pod);
        }
      }
      malformed.remove(e.key());
    } catch (IOException | RuntimeException ex) {
      // The previous value (if any) no longer holds: the key says something else now.
      (isServices ? services : pods).remove(e.key());
      if (!Objects.equals(malformed.put(e.key(), e.value()), e.value())) {
        LOG.warnf("ignoring %s: %s", e.key(), ex.getMessage());
      }
    }
  }

  /** A pod address from its endpoint key; null for addresses that belong to no pod. */
  private static DnsZone.Pod pod(Entry e) throws IOException {
    String ip =
        Keys.Endpoints.ipOf(e.key())
            .orElseThrow(() -> new IOException("not an endpoint key (endpoints/<node>/<ip>)"));
    InetAddress address = AddressNames.parseLiteral(ip);
    JsonNode v = JSON.readTree(e.value());
    if (v == null || !v.isObject()) {
      throw new IOException("not a JSON object");
    }
    String namespace = v.path("namespace").asText("");
    String name = v.path("pod").asText("");
    return namespace.isEmpty() ? null : new DnsZone.Pod(address, namespace, name);
  }

  /** Rebuilds coalesce bursts of changes: at most one per this many milliseconds. */
  static final long REBUILD_DELAY_MS = 10;

  private final java.util.concurrent.ScheduledExecutorService rebuilder =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().name("dns-zone-rebuild").daemon().factory());
  private boolean rebuildScheduled;

  private void publishLocked(long atRevision) {
    revision = Math.max(revision, atRevision);
    if (!(servicesLoaded && endpointsLoaded)) {
      return;
    }
    if (zone.loaded()) {
      // a burst of changes (a thousand services applied at once) is one rebuild, not a thousand
      if (!rebuildScheduled) {
        rebuildScheduled = true;
        rebuilder.schedule(
            this::rebuild, REBUILD_DELAY_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
      }
      return;
    }
    rebuildLocked();
  }

  private synchronized void rebuild() {
    rebuildScheduled = false;
    try {
      rebuildLocked();
    } catch (RuntimeException e) {
      LOG.errorf(e, "rebuilding zone %s failed; keeping the previous one", domain);
    }
  }

  private void rebuildLocked() {
    boolean first = !zone.loaded();
    zone = DnsZone.of(domain, revision, services.values(), pods.values());
    if (first) {
      LOG.infof(
          "zone %s loaded: %d services, %d pod addresses (revision %d)",
          zone.domain(), zone.serviceCount(), zone.podCount(), revision);
    }
  }

  @Override
  public void close() throws Exception {
    closed.set(true);
    rebuilder.shutdownNow();
    AutoCloseable s;
    AutoCloseable e;
    synchronized (this) {
      s = serviceWatch;
      e = endpointWatch;
    }
    if (s != null) {
      s.close();
    }
    if (e != null) {
      e.close();
    }
  }
}
