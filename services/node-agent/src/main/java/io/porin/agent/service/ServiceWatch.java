package io.porin.agent.service;

import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * The services' records from etcd into {@link ServiceSync}: a snapshot, then batches of changes.
 */
public final class ServiceWatch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ServiceWatch.class);

  private final AutoCloseable watch;

  public ServiceWatch(KvStore kv, ServiceSync sync) {
    watch =
        kv.watch(
            Keys.Services.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                List<ServiceRecord> all = new ArrayList<>();
                for (Entry e : snapshot.entries()) {
                  read(e).ifPresent(all::add);
                }
                sync.reset(all);
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                List<ServiceRecord> put = new ArrayList<>();
                List<String> removed = new ArrayList<>();
                for (WatchEvent ev : events) {
                  if (ev.type() == WatchEvent.Type.PUT) {
                    read(ev.entry())
                        .ifPresentOrElse(put::add, () -> removed.add(keyOf(ev.entry())));
                  } else {
                    removed.add(keyOf(ev.entry()));
                  }
                }
                sync.update(put, removed);
              }
            });
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
