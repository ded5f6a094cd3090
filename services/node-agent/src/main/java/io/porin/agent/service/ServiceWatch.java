package io.porin.agent.service;

import io.porin.core.service.GlobalServices;
import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The services' records from etcd into {@link ServiceSync}: a snapshot, then batches of changes.
 */
public final class ServiceWatch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ServiceWatch.class);

  private final ServiceSync sync;
  private final AutoCloseable watch;

  /** This cluster's records, by "namespace/name". */
  private final Map<String, ServiceRecord> local = new HashMap<>();

  /** Connected clusters' global services, by "namespace/name" (see {@link GlobalServices}). */
  private Map<String, List<ServiceRecord>> remote = Map.of();

  public ServiceWatch(KvStore kv, ServiceSync sync) {
    this.sync = sync;
    watch =
        kv.watch(
            Keys.Services.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                synchronized (ServiceWatch.this) {
                  local.clear();
                  for (Entry e : snapshot.entries()) {
                    read(e).ifPresent(r -> local.put(keyOf(e), r));
                  }
                  sync.reset(local.keySet().stream().map(ServiceWatch.this::merged).toList());
                }
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                synchronized (ServiceWatch.this) {
                  Set<String> changed = new HashSet<>();
                  for (WatchEvent ev : events) {
                    String key = keyOf(ev.entry());
                    changed.add(key);
                    if (ev.type() == WatchEvent.Type.PUT) {
                      read(ev.entry())
                          .ifPresentOrElse(r -> local.put(key, r), () -> local.remove(key));
                    } else {
                      local.remove(key);
                    }
                  }
                  push(changed);
                }
              }
            });
  }

  /**
   * Replaces connected clusters' global services; this cluster's global services of the same names
   * take their backends.
   */
  public synchronized void setRemote(Map<String, List<ServiceRecord>> services) {
    Set<String> changed = new HashSet<>();
    for (String k : services.keySet()) {
      if (!services.get(k).equals(remote.get(k))) {
        changed.add(k);
      }
    }
    for (String k : remote.keySet()) {
      if (!services.containsKey(k)) {
        changed.add(k);
      }
    }
    remote = Map.copyOf(services);
    changed.retainAll(local.keySet());
    if (!changed.isEmpty()) {
      push(changed);
    }
  }

  private void push(Set<String> keys) {
    List<ServiceRecord> put = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    for (String k : keys) {
      if (local.containsKey(k)) {
        put.add(merged(k));
      } else {
        removed.add(k);
      }
    }
    sync.update(put, removed);
  }

  private ServiceRecord merged(String key) {
    return GlobalServices.merge(local.get(key), remote.getOrDefault(key, List.of()));
  }

  private static String keyOf(Entry e) {
    return e.key().substring(Keys.Services.PREFIX.length());
  }

  private static java.util.Optional<ServiceRecord> read(Entry e) {
    try {
      return java.util.Optional.of(ServiceRecord.parse(e.value()));
    } catch (IllegalArgumentException ex) {
      LOG.warnf("ignoring the service record %s: %s", e.key(), ex.getMessage());
      return java.util.Optional.empty();
    }
  }

  @Override
  public void close() throws Exception {
    watch.close();
  }
}
