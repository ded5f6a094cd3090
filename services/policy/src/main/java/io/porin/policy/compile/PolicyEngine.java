package io.porin.policy.compile;

import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.mesh.MeshImports;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.PolicyChanges;
import io.porin.core.policy.PolicyCompiler;
import io.porin.core.policy.PolicySettings;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.NamespaceResource;
import io.porin.core.resource.PodResource;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ServiceResource;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.porin.policy.source.ResourceSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Owns the {@link PolicyCompiler}: one platform thread applies identity changes (from etcd) and
 * resource changes (from the source) in batches, commits, and publishes an immutable {@link State}
 * and the {@link PolicyChanges} to its listeners. Nothing is published before both identities and
 * resources have been read once, so that no node ever receives a half-built policy.
 */
public final class PolicyEngine implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PolicyEngine.class);
  private static final int MAX_BATCH = 10_000;

  /** A pod as the engine sees it: its identity labels and, once allocated, its identity. */
  public record PodView(PodResource pod, LabelSet identityLabels, Integer identity) {}

  /** What the engine knows, as of one commit. Immutable. */
  public record State(
      long revision,
      boolean synced,
      Map<Integer, IdentityPolicy> policies,
      Map<Cidr, Integer> cidrIdentities,
      Map<Integer, LabelSet> identities,
      Map<ResourceId, PodView> pods,
      Map<ResourceId, ServiceResource> services,
      PolicySettings settings) {}

  /** A published commit: the new state and what changed to get there. */
  public record Published(State state, PolicyChanges changes, boolean first) {}

  /** One policy's status. */
  public record Status(ResourceId id, boolean valid, String error, int rules, int selected) {}

  private record Event(long enqueuedNanos, Runnable action) {}

  private final KvStore kv;
  private final ResourceSource source;
  private final LabelFilter filter;
  private final PolicyCompiler compiler;
  private final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();
  private final AtomicReference<State> state;
  private final List<Consumer<Published>> listeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<Long>> latencyObservers = new CopyOnWriteArrayList<>();
  private Thread owner;
  private AutoCloseable identityWatch;
  private AutoCloseable meshWatch;
  // identities of connected clusters, imported by the clustermesh service (owner thread)
  private final Map<Integer, LabelSet> remote = new HashMap<>();
  private final Map<String, Entry> meshRecords = new HashMap<>();
  private volatile boolean running = true;

  // Owned by the owner thread.
  private final Map<Integer, LabelSet> identities = new HashMap<>();
  private final Map<LabelSet, Integer> byLabels = new HashMap<>();
  private final Map<ResourceId, NamespaceResource> namespaces = new HashMap<>();
  private final Map<ResourceId, PodResource> pods = new HashMap<>();
  private final Map<ResourceId, PodView> podViews = new HashMap<>();
  private final Map<LabelSet, Set<ResourceId>> podsByLabels = new HashMap<>();
  private final Map<ResourceId, ServiceResource> services = new HashMap<>();
  private final Map<ResourceId, PolicyResource> policies = new HashMap<>();
  private final Map<ResourceId, String> invalid = new TreeMap<>();
  private final Map<Integer, IdentityPolicy> compiled = new HashMap<>();
  private boolean identitiesSynced;
  private boolean resourcesSynced;
  private boolean published;
  private boolean viewsChanged;
  private final RevisionReservation revisions;
  private final String cluster;
  private final java.util.concurrent.ScheduledExecutorService retry =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-policy-retry").daemon().unstarted(r));

  /**
   * @param cluster this cluster's name: pods' identity labels carry it as {@code
   *     io.cilium.k8s.policy.cluster}, as the agents give them
   */
  public PolicyEngine(
      KvStore kv,
      ResourceSource source,
      PolicySettings settings,
      LabelFilter filter,
      String cluster) {
    this.kv = kv;
    this.cluster = cluster;
    this.source = source;
    this.filter = filter;
    this.compiler = new PolicyCompiler(settings);
    this.revisions = new RevisionReservation(kv);
    this.state =
        new AtomicReference<>(
            new State(0, false, Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), settings));
  }

  /** Called with every published commit, on the engine's thread. Must not block for long. */
  public void addListener(Consumer<Published> listener) {
    listeners.add(listener);
  }

  /** Called with the nanoseconds from the oldest change of a batch to its publication. */
  public void addLatencyObserver(Consumer<Long> observer) {
    latencyObservers.add(observer);
  }

  public PolicyEngine start() {
    owner = Thread.ofPlatform().name("porin-policy-engine").start(this::run);
    identityWatch =
        kv.watch(
            Keys.Identities.ID_PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                Map<Integer, LabelSet> all = new HashMap<>();
                for (Entry e : snapshot.entries()) {
                  parseIdentity(e).ifPresent(p -> all.put(p.getKey(), p.getValue()));
                }
                submit(() -> resetIdentities(all));
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                for (WatchEvent ev : events) {
                  int id = (int) Keys.Identities.idOf(ev.entry().key());
                  if (ev.type() == WatchEvent.Type.PUT) {
                    parseIdentity(ev.entry())
                        .ifPresent(p -> submit(() -> putIdentity(id, p.getValue())));
                  } else {
                    submit(() -> removeIdentity(id));
                  }
                }
              }
            });
    meshWatch =
        kv.watch(
            Keys.Mesh.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                Map<String, Entry> all = new HashMap<>();
                for (Entry e : snapshot.entries()) {
                  if (meshRecord(e.key())) {
                    all.put(e.key(), e);
                  }
                }
                submit(
                    () -> {
                      meshRecords.clear();
                      meshRecords.putAll(all);
                      recomputeRemote();
                    });
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                Map<String, Entry> changed = new HashMap<>();
                for (WatchEvent ev : events) {
                  if (meshRecord(ev.entry().key())) {
                    changed.put(
                        ev.entry().key(), ev.type() == WatchEvent.Type.PUT ? ev.entry() : null);
                  }
                }
                if (!changed.isEmpty()) {
                  submit(
                      () -> {
                        changed.forEach(
                            (k, e) -> {
                              if (e == null) {
                                meshRecords.remove(k);
                              } else {
                                meshRecords.put(k, e);
                              }
                            });
                        recomputeRemote();
                      });
                }
              }
            });
    source.start(
        new ResourceSource.Listener() {
          @Override
          public void reset() {
            submit(PolicyEngine.this::resetResources);
          }

          @Override
          public void upsert(Resource resource) {
            submit(() -> upsertResource(resource));
          }

          @Override
          public void delete(ResourceId id) {
            submit(() -> deleteResource(id));
          }

          @Override
          public void invalid(ResourceId id, String message) {
            submit(() -> invalidResource(id, message));
          }

          @Override
          public void synced() {
            submit(() -> resourcesSynced = true);
          }
        });
    return this;
  }

  public State state() {
    return state.get();
  }

  public String sourceName() {
    return source.name();
  }

  /** Every policy's status, valid or refused (asked on the engine's thread). */
  public CompletableFuture<List<Status>> statuses() {
    CompletableFuture<List<Status>> f = new CompletableFuture<>();
    submit(
        () -> {
          List<Status> out = new ArrayList<>();
          for (PolicyResource p : policies.values()) {
            out.add(
                new Status(
                    p.id(),
                    p.enforceable(),
                    p.enforceable()
                        ? ""
                        : "not enforced yet: " + String.join("; ", p.notYetEnforced()),
                    p.rules().size(),
                    compiler.selectedCount(p.ref())));
          }
          invalid.forEach(
              (id, msg) -> {
                if (id.kind().isPolicy()) {
                  out.add(new Status(id, false, msg, 0, 0));
                }
              });
          out.sort(java.util.Comparator.comparing(Status::id));
          f.complete(out);
        });
    return f;
  }

  private void submit(Runnable action) {
    queue.add(new Event(System.nanoTime(), action));
  }

  private void run() {
    while (running) {
      Event first;
      try {
        first = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      long oldest = first.enqueuedNanos;
      List<Event> batch = new ArrayList<>();
      batch.add(first);
      queue.drainTo(batch, MAX_BATCH);
      for (Event e : batch) {
        try {
          e.action.run();
        } catch (RuntimeException ex) {
          LOG.error("policy engine: a change could not be applied", ex);
        }
      }
      if (identitiesSynced && resourcesSynced) {
        try {
          commit();
          long nanos = System.nanoTime() - oldest;
          latencyObservers.forEach(o -> o.accept(nanos));
        } catch (RuntimeException ex) {
          LOG.error("policy engine: commit failed", ex);
        }
      }
    }
  }

  private void commit() {
    if (!revisions.ready(compiler)) {
      // etcd is away: the changes stay pending; try again shortly
      retry.schedule(() -> submit(() -> {}), 1, java.util.concurrent.TimeUnit.SECONDS);
      return;
    }
    PolicyChanges changes = compiler.commit();
    if (published && changes.isEmpty() && !viewsChanged) {
      return;
    }
    compiled.putAll(changes.updated());
    compiled.keySet().removeAll(changes.removed());
    State s =
        new State(
            changes.revision(),
            true,
            Map.copyOf(compiled),
            changes.cidrIdentities(),
            Map.copyOf(identities),
            Map.copyOf(podViews),
            Map.copyOf(services),
            compiler.settings());
    state.set(s);
    Published p = new Published(s, changes, !published);
    published = true;
    viewsChanged = false;
    for (Consumer<Published> l : listeners) {
      try {
        l.accept(p);
      } catch (RuntimeException ex) {
        LOG.error("policy engine: a listener failed", ex);
      }
    }
  }

  // ---- identities (owner thread) --------------------------------------------------------------

  private static java.util.Optional<Map.Entry<Integer, LabelSet>> parseIdentity(Entry e) {
    try {
      return java.util.Optional.of(
          Map.entry((int) Keys.Identities.idOf(e.key()), LabelSet.parseCanonical(e.value())));
    } catch (RuntimeException ex) {
      LOG.warnf("ignoring identity %s: %s", e.key(), ex.getMessage());
      return java.util.Optional.empty();
    }
  }

  /**
   * Whether a key under mesh/ is one the engine reads: a peer's record, identity or endpoint (for
   * traces naming a remote pod).
   */
  private static boolean meshRecord(String key) {
    String peer = Keys.Mesh.peerOf(key);
    return !peer.isEmpty()
        && (key.equals(Keys.Mesh.info(peer))
            || Keys.Mesh.importedIdentity(key) >= 0
            || key.startsWith(Keys.Mesh.importedPrefix(peer) + "endpoints/"));
  }

  /** What the engine believes of the connected clusters (parses each record once). */
  private MeshImports meshView;

  /** Connected clusters' pods, "cluster/namespace/name" to identity. */
  private volatile Map<String, Integer> remotePods = Map.of();

  /** The identity of a connected cluster's pod, "cluster/namespace/name". */
  public java.util.Optional<Integer> remotePod(String key) {
    return java.util.Optional.ofNullable(remotePods.get(key));
  }

  /**
   * The identities of connected clusters, from the imported records: an identity counts when it is
   * numbered in its peer's recorded cluster ID (never this cluster's) and labelled with its peer's
   * name as its cluster, with no reserved label (the clustermesh service refuses the others; this
   * is checked again here).
   */
  private void recomputeRemote() {
    if (meshView == null) {
      meshView = new MeshImports(compiler.settings().clusterId());
    }
    MeshImports view = meshView;
    Map<String, String> relative = new HashMap<>();
    meshRecords.forEach((k, e) -> relative.put(k.substring(Keys.Mesh.PREFIX.length()), e.value()));
    // values already parsed are kept (by key and value)
    view.reset(relative);
    Map<Integer, LabelSet> wanted = view.identities();
    Map<String, Integer> pods = new HashMap<>();
    view.endpoints()
        .values()
        .forEach(
            ep -> pods.put(ep.cluster() + "/" + ep.namespace() + "/" + ep.pod(), ep.identity()));
    remotePods = Map.copyOf(pods);
    view.drainRefusals().forEach(r -> LOG.debugf("ignoring %s", r));
    for (int id : new ArrayList<>(remote.keySet())) {
      if (!wanted.containsKey(id)) {
        remote.remove(id);
        compiler.removeIdentity(id);
        viewsChanged = true;
      }
    }
    wanted.forEach(
        (id, labels) -> {
          if (!labels.equals(remote.put(id, labels))) {
            compiler.putIdentity(id, labels);
            viewsChanged = true;
          }
        });
  }

  private void resetIdentities(Map<Integer, LabelSet> all) {
    for (int id : new ArrayList<>(identities.keySet())) {
      if (!all.containsKey(id)) {
        removeIdentity(id);
      }
    }
    all.forEach(this::putIdentity);
    identitiesSynced = true;
  }

  private void putIdentity(int id, LabelSet labels) {
    LabelSet old = identities.put(id, labels);
    if (labels.equals(old)) {
      return;
    }
    if (old != null) {
      byLabels.remove(old, id);
      refreshPods(podsByLabels.getOrDefault(old, Set.of()));
    }
    byLabels.put(labels, id);
    compiler.putIdentity(id, labels);
    refreshPods(podsByLabels.getOrDefault(labels, Set.of()));
    viewsChanged = true;
  }

  private void removeIdentity(int id) {
    LabelSet old = identities.remove(id);
    if (old == null) {
      return;
    }
    byLabels.remove(old, id);
    compiler.removeIdentity(id);
    refreshPods(podsByLabels.getOrDefault(old, Set.of()));
    viewsChanged = true;
  }

  // ---- resources (owner thread) ---------------------------------------------------------------

  private void resetResources() {
    for (ResourceId id : new ArrayList<>(policies.keySet())) {
      deleteResource(id);
    }
    for (ResourceId id : new ArrayList<>(pods.keySet())) {
      deleteResource(id);
    }
    namespaces.clear();
    services.clear();
    invalid.clear();
    compiler.setAuditNamespaces(Set.of());
    resourcesSynced = false;
    viewsChanged = true;
  }

  private void upsertResource(Resource r) {
    invalid.remove(r.id());
    switch (r) {
      case NamespaceResource ns -> {
        namespaces.put(ns.id(), ns);
        auditNamespacesChanged();
        refreshPods(podsIn(ns.name()));
      }
      case PodResource pod -> {
        pods.put(pod.id(), pod);
        refreshPods(Set.of(pod.id()));
      }
      case ServiceResource svc -> services.put(svc.id(), svc);
      case PolicyResource p -> {
        policies.put(p.id(), p);
        if (p.enforceable()) {
          compiler.putPolicy(p.ref(), p.rules());
        } else {
          compiler.removePolicy(p.ref());
        }
      }
    }
    viewsChanged = true;
  }

  private void deleteResource(ResourceId id) {
    invalid.remove(id);
    switch (id.kind()) {
      case NAMESPACE -> {
        NamespaceResource ns = namespaces.remove(id);
        if (ns != null) {
          auditNamespacesChanged();
          refreshPods(podsIn(ns.name()));
        }
      }
      case POD -> {
        pods.remove(id);
        refreshPods(Set.of(id));
      }
      case SERVICE -> services.remove(id);
      case NETWORK_POLICY, CILIUM_NETWORK_POLICY, CILIUM_CLUSTERWIDE_NETWORK_POLICY -> {
        PolicyResource p = policies.remove(id);
        if (p != null) {
          compiler.removePolicy(p.ref());
        }
      }
    }
    viewsChanged = true;
  }

  /** A resource that cannot be read: it stops counting (a policy's old rules are dropped). */
  private void invalidResource(ResourceId id, String message) {
    deleteResource(id);
    invalid.put(id, message);
    LOG.warnf("refused %s: %s", id, message);
  }

  private void auditNamespacesChanged() {
    Set<String> audited = new HashSet<>();
    for (NamespaceResource ns : namespaces.values()) {
      if (ns.audited()) {
        audited.add(ns.name());
      }
    }
    compiler.setAuditNamespaces(audited);
  }

  private Set<ResourceId> podsIn(String namespace) {
    Set<ResourceId> out = new HashSet<>();
    for (ResourceId id : pods.keySet()) {
      if (id.namespace().equals(namespace)) {
        out.add(id);
      }
    }
    return out;
  }

  /** Recomputes pods' identity labels and identities; tells the compiler their named ports. */
  private void refreshPods(Set<ResourceId> ids) {
    for (ResourceId id : new ArrayList<>(ids)) {
      PodView old = podViews.remove(id);
      if (old != null) {
        Set<ResourceId> same = podsByLabels.get(old.identityLabels());
        if (same != null) {
          same.remove(id);
          if (same.isEmpty()) {
            podsByLabels.remove(old.identityLabels());
          }
        }
      }
      PodResource pod = pods.get(id);
      String key = id.displayName();
      if (pod == null) {
        compiler.removeEndpoint(key);
        continue;
      }
      NamespaceResource ns =
          namespaces.get(new ResourceId(ResourceKind.NAMESPACE, "", id.namespace()));
      LabelSet labels = EndpointLabels.identity(cluster, pod, ns, filter);
      Integer identity = byLabels.get(labels);
      podViews.put(id, new PodView(pod, labels, identity));
      podsByLabels.computeIfAbsent(labels, k -> new HashSet<>()).add(id);
      if (identity == null) {
        compiler.removeEndpoint(key);
      } else {
        compiler.putEndpoint(key, identity, pod.namedPorts());
      }
    }
  }

  @Override
  public void close() {
    running = false;
    retry.shutdownNow();
    source.close();
    try {
      if (identityWatch != null) {
        identityWatch.close();
      }
      if (meshWatch != null) {
        meshWatch.close();
      }
    } catch (Exception e) {
      LOG.debug("closing the identity watch", e);
    }
    if (owner != null) {
      owner.interrupt();
    }
  }
}
