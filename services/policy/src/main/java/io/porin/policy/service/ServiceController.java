package io.porin.policy.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.core.resource.PodResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ServiceResource;
import io.porin.core.service.ServiceBackends;
import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.Transaction;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.porin.policy.source.ResourceSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The EndpointSlice controller's job, for Porin: from Services, Pods and the endpoints the agents
 * publish, each service's record (frontends and backends) in {@code /porin/v1/services/}, which the
 * node agents program into their load-balancing maps and the cluster DNS answers from.
 *
 * <p>Everything runs on one thread: changes mark namespaces dirty and one pass recomputes the
 * services of those namespaces and writes what changed, up to 100 keys per transaction.
 */
public final class ServiceController implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ServiceController.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int OPS_PER_TRANSACTION = 100;

  private final KvStore kv;
  private final ResourceSource source;
  private final ExecutorService loop =
      Executors.newSingleThreadExecutor(Thread.ofPlatform().name("service-controller").factory());

  // state, touched only on the loop thread
  private final Map<ResourceId, ServiceResource> services = new HashMap<>();
  private final Map<String, Map<String, PodResource>> podsByNamespace = new HashMap<>();
  private final Map<String, ServiceBackends.EndpointAddress> endpoints = new HashMap<>();
  private final Map<String, String> written = new HashMap<>();
  private final Set<String> dirty = new HashSet<>();
  private boolean resourcesSynced;
  private boolean endpointsSynced;
  private boolean scheduled;
  private AutoCloseable endpointWatch;
  private final AtomicLong passes = new AtomicLong();

  public ServiceController(KvStore kv, ResourceSource source) {
    this.kv = kv;
    this.source = source;
  }

  /** Starts following; returns at once. */
  public ServiceController start() {
    loop.execute(
        () -> {
          for (Entry e : kv.list(Keys.Services.PREFIX).entries()) {
            written.put(e.key(), e.value());
          }
        });
    source.start(new ResourceListener());
    endpointWatch = kv.watch(Keys.Endpoints.PREFIX, 0, new EndpointListener());
    return this;
  }

  /** Passes run so far (for tests and metrics). */
  public long passes() {
    return passes.get();
  }

  private final class ResourceListener implements ResourceSource.Listener {
    @Override
    public void reset() {
      loop.execute(
          () -> {
            services.clear();
            podsByNamespace.clear();
            resourcesSynced = false;
          });
    }

    @Override
    public void upsert(Resource r) {
      loop.execute(
          () -> {
            switch (r) {
              case ServiceResource s -> services.put(s.id(), s);
              case PodResource p ->
                  podsByNamespace
                      .computeIfAbsent(p.id().namespace(), k -> new LinkedHashMap<>())
                      .put(p.id().name(), p);
              default -> {
                return;
              }
            }
            markDirty(r.id().namespace());
          });
    }

    @Override
    public void delete(ResourceId id) {
      loop.execute(
          () -> {
            if (id.kind() == ResourceKind.SERVICE) {
              services.remove(id);
            } else if (id.kind() == ResourceKind.POD) {
              Map<String, PodResource> pods = podsByNamespace.get(id.namespace());
              if (pods != null) {
                pods.remove(id.name());
              }
            } else {
              return;
            }
            markDirty(id.namespace());
          });
    }

    @Override
    public void invalid(ResourceId id, String message) {
      LOG.warnf("service controller: %s", message);
      delete(id);
    }

    @Override
    public void synced() {
      loop.execute(
          () -> {
            resourcesSynced = true;
            markAllDirty();
          });
    }
  }

  private final class EndpointListener implements WatchListener {
    @Override
    public void onReset(Snapshot snapshot) {
      loop.execute(
          () -> {
            endpoints.clear();
            for (Entry e : snapshot.entries()) {
              put(e);
            }
            endpointsSynced = true;
            markAllDirty();
          });
    }

    @Override
    public void onEvents(List<WatchEvent> events) {
      loop.execute(
          () -> {
            for (WatchEvent ev : events) {
              if (ev.type() == WatchEvent.Type.PUT) {
                put(ev.entry());
              } else {
                ServiceBackends.EndpointAddress gone = endpoints.remove(ev.entry().key());
                if (gone != null) {
                  markDirty(gone.namespace());
                }
              }
            }
          });
    }

    private void put(Entry e) {
      try {
        JsonNode v = JSON.readTree(e.value());
        var a =
            new ServiceBackends.EndpointAddress(
                v.path("namespace").asText(""),
                v.path("pod").asText(""),
                // Who published it and which address: from the key, which etcd lets only that
                // node write, not from the value.
                Keys.Endpoints.nodeOf(e.key()).orElse(""),
                Keys.Endpoints.ipOf(e.key()).orElse(""));
        if (a.pod().isEmpty() || a.ip().isEmpty() || a.node().isEmpty()) {
          return; // not a pod (a node's own address)
        }
        ServiceBackends.EndpointAddress before = endpoints.put(e.key(), a);
        if (!a.equals(before)) {
          markDirty(a.namespace());
        }
      } catch (IOException ex) {
        LOG.warnf("service controller: %s is not JSON, ignored", e.key());
      }
    }
  }

  private void markDirty(String namespace) {
    dirty.add(namespace);
    schedule();
  }

  private void markAllDirty() {
    services.keySet().forEach(id -> dirty.add(id.namespace()));
    written.keySet().forEach(k -> dirty.add(namespaceOf(k)));
    schedule();
  }

  /** One pass after the changes queued now: a burst of changes is one pass. */
  private void schedule() {
    if (!scheduled) {
      scheduled = true;
      loop.execute(this::pass);
    }
  }

  private void pass() {
    scheduled = false;
    if (!resourcesSynced || !endpointsSynced || dirty.isEmpty()) {
      return;
    }
    Set<String> namespaces = new HashSet<>(dirty);
    dirty.clear();
    Map<String, List<ServiceBackends.EndpointAddress>> addrs = new HashMap<>();
    for (ServiceBackends.EndpointAddress a : endpoints.values()) {
      if (namespaces.contains(a.namespace())) {
        addrs.computeIfAbsent(a.namespace(), k -> new ArrayList<>()).add(a);
      }
    }
    Map<String, String> desired = new LinkedHashMap<>();
    for (ServiceResource s : services.values()) {
      String ns = s.id().namespace();
      if (!namespaces.contains(ns) || s.type().equals("ExternalName")) {
        continue;
      }
      String key = Keys.Services.service(ns, s.id().name());
      ServiceRecord previous = previous(key);
      ServiceRecord r =
          ServiceBackends.record(
              s,
              List.copyOf(podsByNamespace.getOrDefault(ns, Map.of()).values()),
              addrs.getOrDefault(ns, List.of()),
              previous);
      desired.put(key, r.toJson());
    }
    List<String[]> ops = new ArrayList<>();
    for (Map.Entry<String, String> e : desired.entrySet()) {
      if (!e.getValue().equals(written.get(e.getKey()))) {
        ops.add(new String[] {e.getKey(), e.getValue()});
      }
    }
    for (String key : written.keySet()) {
      if (namespaces.contains(namespaceOf(key)) && !desired.containsKey(key)) {
        ops.add(new String[] {key, null});
      }
    }
    for (int from = 0; from < ops.size(); from += OPS_PER_TRANSACTION) {
      List<String[]> chunk = ops.subList(from, Math.min(ops.size(), from + OPS_PER_TRANSACTION));
      Transaction tx = kv.transaction();
      for (String[] op : chunk) {
        if (op[1] == null) {
          tx.delete(op[0]);
        } else {
          tx.put(op[0], op[1]);
        }
      }
      try {
        tx.commit();
        for (String[] op : chunk) {
          if (op[1] == null) {
            written.remove(op[0]);
          } else {
            written.put(op[0], op[1]);
          }
        }
      } catch (RuntimeException e) {
        LOG.warnf(
            "service controller: writing %d service records failed, retrying: %s",
            chunk.size(), e.getMessage());
        namespaces.forEach(dirty::add);
        loop.execute(this::retryLater);
        break;
      }
    }
    passes.incrementAndGet();
  }

  private void retryLater() {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    schedule();
  }

  private ServiceRecord previous(String key) {
    String json = written.get(key);
    if (json == null) {
      return null;
    }
    try {
      return ServiceRecord.parse(json);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static String namespaceOf(String key) {
    String rest = key.substring(Keys.Services.PREFIX.length());
    return rest.substring(0, rest.indexOf('/'));
  }

  @Override
  public void close() {
    try {
      if (endpointWatch != null) {
        endpointWatch.close();
      }
    } catch (Exception e) {
      LOG.debug("closing the endpoint watch", e);
    }
    source.close();
    loop.shutdownNow();
  }
}
