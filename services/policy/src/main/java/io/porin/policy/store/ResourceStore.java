package io.porin.policy.store;

import io.porin.core.resource.Json;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.ServiceResource;
import io.porin.core.resource.YamlDocuments;
import io.porin.core.service.ServiceAddresses;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Transaction;
import io.porin.policy.source.StandaloneSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The standalone store: {@code porin apply} and {@code porin delete} write resources to etcd, where
 * {@link StandaloneSource} reads them. Every document is validated before anything is written; the
 * valid ones are written together, the refused ones are reported with the reason.
 */
public final class ResourceStore {
  /** etcd's default limit on operations per transaction is 128. */
  private static final int OPS_PER_TRANSACTION = 100;

  private final KvStore kv;
  private final ServiceAddresses.Ranges serviceRanges;

  public ResourceStore(KvStore kv) {
    this(kv, ServiceAddresses.Ranges.parse("10.96.0.0/16", "fd00:96::/112"));
  }

  public ResourceStore(KvStore kv, ServiceAddresses.Ranges serviceRanges) {
    this.kv = kv;
    this.serviceRanges = serviceRanges;
  }

  /** What happened to one document. */
  public enum Outcome {
    CREATED,
    CONFIGURED,
    UNCHANGED,
    REFUSED,
    DELETED,
    NOT_FOUND
  }

  /** One document's result; {@code id} is null when the document does not even name a resource. */
  public record Result(ResourceId id, int document, Outcome outcome, String message) {}

  /** The results, in document order, and the store revision after writing. */
  public record Results(List<Result> results, long revision) {}

  /** Validates every document and stores the valid ones (unless {@code dryRun}). */
  public Results apply(String text, boolean dryRun) {
    ResourceParser.Result parsed = ResourceParser.parse(text);
    List<Result> results = new ArrayList<>();
    Map<String, Resource> toWrite = new LinkedHashMap<>();
    Map<String, Integer> documentOf = new LinkedHashMap<>();
    for (int i = 0; i < parsed.resources().size(); i++) {
      Resource r = parsed.resources().get(i);
      int document = parsed.documents().get(i);
      if (r instanceof PolicyResource p && !p.enforceable()) {
        results.add(
            new Result(
                r.id(),
                document,
                Outcome.REFUSED,
                r.id().displayName()
                    + ": Porin does not enforce this yet, so the policy is not applied: "
                    + String.join("; ", p.notYetEnforced())));
        continue;
      }
      String key = key(r.id());
      if (toWrite.containsKey(key)) {
        results.add(
            new Result(r.id(), document, Outcome.REFUSED, r.id() + " appears twice in the input"));
        continue;
      }
      toWrite.put(key, r);
      documentOf.put(key, document);
    }
    for (ResourceParser.Refusal refusal : parsed.refusals()) {
      results.add(new Result(refusal.id(), refusal.document(), Outcome.REFUSED, refusal.message()));
    }
    Map<String, String> current = current(toWrite.keySet());
    long revision = kv.revision();
    // Services first, each in a transaction of its own with the addresses and ports it holds.
    ServiceHolders holders = null;
    for (String key : new ArrayList<>(toWrite.keySet())) {
      if (!(toWrite.get(key) instanceof ServiceResource svc)) {
        continue;
      }
      toWrite.remove(key);
      holders = holders == null ? ServiceHolders.read(kv) : holders;
      Result r = applyService(svc, documentOf.get(key), current.get(key), holders, dryRun);
      if (r.outcome() != Outcome.REFUSED && !selectsAPod(svc, parsed.resources())) {
        r =
            new Result(
                r.id(),
                r.document(),
                r.outcome(),
                "spec.selector "
                    + svc.selector()
                    + " matches no pod in namespace "
                    + svc.id().namespace()
                    + ": the service has no backends (connections to it are refused) until one"
                    + " does");
      }
      results.add(r);
      if (!dryRun && r.outcome() != Outcome.REFUSED) {
        revision = Math.max(revision, holders.lastRevision);
      }
    }
    List<String> keys = new ArrayList<>(toWrite.keySet());
    for (int from = 0; from < keys.size(); from += OPS_PER_TRANSACTION) {
      List<String> chunk = keys.subList(from, Math.min(keys.size(), from + OPS_PER_TRANSACTION));
      Transaction tx = kv.transaction();
      for (String key : chunk) {
        Resource r = toWrite.get(key);
        String json = Json.write(r.source());
        String before = current.get(key);
        Outcome o =
            before == null
                ? Outcome.CREATED
                : before.equals(json) ? Outcome.UNCHANGED : Outcome.CONFIGURED;
        results.add(new Result(r.id(), documentOf.get(key), o, ""));
        if (o != Outcome.UNCHANGED) {
          tx.put(key, json);
        }
      }
      if (!dryRun) {
        revision = tx.commit().revision();
      }
    }
    results.sort(java.util.Comparator.comparingInt(Result::document));
    return new Results(results, revision);
  }

  /** Whether a service's selector matches a pod of its namespace: stored, or in this apply. */
  private boolean selectsAPod(ServiceResource svc, List<Resource> applied) {
    if (svc.selector().isEmpty()) {
      return true; // no selector: backends are not the pods' business (nothing to warn about)
    }
    java.util.function.Predicate<Map<String, String>> matches =
        labels -> labels.entrySet().containsAll(svc.selector().entrySet());
    for (Resource r : applied) {
      if (r instanceof io.porin.core.resource.PodResource p
          && p.id().namespace().equals(svc.id().namespace())
          && matches.test(p.labels())) {
        return true;
      }
    }
    for (Entry e : kv.list(Keys.Resources.namespace("pods", svc.id().namespace())).entries()) {
      try {
        Resource r =
            ResourceParser.parseDocument(YamlDocuments.read(e.value()).getFirst().tree(), e.key());
        if (r instanceof io.porin.core.resource.PodResource p && matches.test(p.labels())) {
          return true;
        }
      } catch (RuntimeException ex) {
        // a stored pod that does not read is no backend
      }
    }
    return false;
  }

  /** Who holds which cluster IP and node port. */
  private static final class ServiceHolders {
    final Map<String, String> ips = new java.util.HashMap<>();
    final Map<Integer, String> nodePorts = new java.util.HashMap<>();
    long lastRevision;

    static ServiceHolders read(KvStore kv) {
      ServiceHolders h = new ServiceHolders();
      for (Entry e : kv.list(Keys.Services.IPS_PREFIX).entries()) {
        h.ips.put(e.key().substring(Keys.Services.IPS_PREFIX.length()), e.value());
      }
      for (Entry e : kv.list(Keys.Services.NODE_PORTS_PREFIX).entries()) {
        h.nodePorts.put(
            Integer.parseInt(e.key().substring(Keys.Services.NODE_PORTS_PREFIX.length())),
            e.value());
      }
      return h;
    }
  }

  /**
   * One Service: its cluster IPs (the stored ones kept, requested ones checked, missing ones
   * allocated) and node ports, written into the stored document as the API server does, together
   * with the keys that say who holds them. A holder key another writer took in the meantime makes
   * the transaction fail: nothing is written and the service is refused.
   */
  private Result applyService(
      ServiceResource svc, int document, String before, ServiceHolders holders, boolean dryRun) {
    String who = svc.id().namespace() + "/" + svc.id().name();
    String name = svc.id().displayName();
    ServiceResource stored = null;
    if (before != null
        && ResourceParser.parseDocument(YamlDocuments.read(before).getFirst().tree(), who)
            instanceof ServiceResource old) {
      stored = old;
    }
    List<String> requested = svc.clusterIPs();
    List<String> ips;
    List<Integer> nodePorts;
    try {
      if (stored != null && !stored.clusterIPs().isEmpty()) {
        if (!requested.isEmpty() && !stored.clusterIPs().containsAll(requested)) {
          throw new ServiceAddresses.Refused(
              "spec.clusterIP: \""
                  + String.join(",", requested)
                  + "\" cannot change: the service has "
                  + String.join(",", stored.clusterIPs())
                  + " (delete and re-create it)");
        }
        requested = stored.clusterIPs();
      }
      ips = ServiceAddresses.clusterIPs(serviceRanges, who, requested, holders.ips);
      ServiceResource withPorts = svc;
      if (stored != null && svc.nodePorts()) {
        withPorts = keepNodePorts(svc, stored);
      }
      nodePorts =
          svc.nodePorts()
              ? ServiceAddresses.nodePorts(
                  withPorts,
                  holders.nodePorts,
                  ResourceParser.NODE_PORT_MIN,
                  ResourceParser.NODE_PORT_MAX)
              : List.of();
    } catch (ServiceAddresses.Refused e) {
      return new Result(svc.id(), document, Outcome.REFUSED, name + ": " + e.getMessage());
    }
    Map<String, Object> source = withAllocation(svc.source(), ips, nodePorts);
    String json = Json.write(source);
    Outcome o =
        before == null
            ? Outcome.CREATED
            : before.equals(json) ? Outcome.UNCHANGED : Outcome.CONFIGURED;
    if (o == Outcome.UNCHANGED || dryRun) {
      return new Result(svc.id(), document, o, "");
    }
    Transaction tx = kv.transaction();
    List<String> newIps = new ArrayList<>();
    for (String ip : ips) {
      if (!ip.equals(ServiceResource.HEADLESS) && !who.equals(holders.ips.get(ip))) {
        tx.ifAbsent(Keys.Services.ip(ip)).put(Keys.Services.ip(ip), who);
        newIps.add(ip);
      }
    }
    List<Integer> newPorts = new ArrayList<>();
    for (int p : nodePorts) {
      if (!who.equals(holders.nodePorts.get(p))) {
        tx.ifAbsent(Keys.Services.nodePort(p)).put(Keys.Services.nodePort(p), who);
        newPorts.add(p);
      }
    }
    // what the service held before and no longer does (a NodePort service made ClusterIP)
    List<Integer> released = new ArrayList<>();
    for (Map.Entry<Integer, String> e : holders.nodePorts.entrySet()) {
      if (e.getValue().equals(who) && !nodePorts.contains(e.getKey())) {
        tx.delete(Keys.Services.nodePort(e.getKey()));
        released.add(e.getKey());
      }
    }
    tx.put(key(svc.id()), json);
    Transaction.Result committed = tx.commit();
    if (!committed.succeeded()) {
      return new Result(
          svc.id(),
          document,
          Outcome.REFUSED,
          name
              + ": another writer took one of its addresses or node ports ("
              + String.join(",", newIps)
              + (newPorts.isEmpty() ? "" : " " + newPorts)
              + ") meanwhile: apply again");
    }
    holders.lastRevision = committed.revision();
    newIps.forEach(ip -> holders.ips.put(ip, who));
    newPorts.forEach(p -> holders.nodePorts.put(p, who));
    released.forEach(holders.nodePorts::remove);
    return new Result(svc.id(), document, o, "");
  }

  /** The node ports the stored service has, where the new one does not ask for others. */
  private static ServiceResource keepNodePorts(ServiceResource svc, ServiceResource stored) {
    List<ServiceResource.ServicePort> ports = new ArrayList<>();
    for (ServiceResource.ServicePort p : svc.ports()) {
      int np = p.nodePort();
      if (np == 0) {
        for (ServiceResource.ServicePort q : stored.ports()) {
          if (q.port() == p.port() && q.protocol() == p.protocol()) {
            np = q.nodePort();
          }
        }
      }
      ports.add(
          new ServiceResource.ServicePort(
              p.name(), p.port(), p.protocol(), p.targetPort(), p.targetPortName(), np));
    }
    return new ServiceResource(
        svc.id(),
        svc.labels(),
        svc.annotations(),
        svc.type(),
        svc.selector(),
        ports,
        svc.clusterIPs(),
        svc.affinityTimeout(),
        svc.algorithm(),
        svc.source());
  }

  /** The document with {@code spec.clusterIP(s)} and each port's {@code nodePort} filled in. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> withAllocation(
      Map<String, Object> source, List<String> ips, List<Integer> nodePorts) {
    Map<String, Object> doc = new LinkedHashMap<>(source);
    Map<String, Object> spec =
        new LinkedHashMap<>((Map<String, Object>) doc.getOrDefault("spec", Map.of()));
    spec.put("clusterIP", ips.getFirst());
    spec.put("clusterIPs", ips);
    if (!nodePorts.isEmpty()) {
      List<Object> ports = new ArrayList<>();
      List<Object> given = (List<Object>) spec.getOrDefault("ports", List.of());
      for (int i = 0; i < given.size(); i++) {
        Map<String, Object> port = new LinkedHashMap<>((Map<String, Object>) given.get(i));
        port.put("nodePort", nodePorts.get(i));
        ports.add(port);
      }
      spec.put("ports", ports);
    }
    doc.put("spec", spec);
    return doc;
  }

  /**
   * Deletes the resources the documents name (they need not be valid, only name kind, namespace and
   * name) and the given ids. Deleting a Namespace deletes what is in it, as Kubernetes does.
   */
  public Results delete(String text, List<ResourceId> ids) {
    List<Result> results = new ArrayList<>();
    List<ResourceId> targets = new ArrayList<>();
    List<Integer> documents = new ArrayList<>();
    for (YamlDocuments.Document d :
        text.isBlank() ? List.<YamlDocuments.Document>of() : YamlDocuments.read(text)) {
      Optional<ResourceId> id = ResourceParser.idOf(d.tree());
      if (id.isEmpty()) {
        results.add(
            new Result(
                null,
                d.index(),
                Outcome.REFUSED,
                "document " + d.index() + ": does not name a resource (kind, metadata.name)"));
      } else {
        targets.add(id.get());
        documents.add(d.index());
      }
    }
    for (ResourceId id : ids) {
      targets.add(id);
      documents.add(0);
    }
    Map<String, String> current =
        current(Set.copyOf(targets.stream().map(ResourceStore::key).toList()));
    Transaction tx = kv.transaction();
    ServiceHolders holders = null;
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < targets.size(); i++) {
      ResourceId id = targets.get(i);
      String key = key(id);
      if (!seen.add(key)) {
        continue;
      }
      boolean exists = current.containsKey(key);
      results.add(
          new Result(id, documents.get(i), exists ? Outcome.DELETED : Outcome.NOT_FOUND, ""));
      if (exists) {
        tx.delete(key);
        if (id.kind() == ResourceKind.SERVICE || id.kind() == ResourceKind.NAMESPACE) {
          holders = holders == null ? ServiceHolders.read(kv) : holders;
          releaseHolders(tx, holders, id);
        }
        if (id.kind() == ResourceKind.NAMESPACE) {
          for (ResourceKind k : ResourceKind.values()) {
            if (k.namespaced()) {
              tx.deletePrefix(Keys.Resources.namespace(k.plural(), id.name()));
            }
          }
        }
      }
    }
    long revision = seen.isEmpty() ? kv.revision() : tx.commit().revision();
    return new Results(results, revision);
  }

  /**
   * Deletes the keys that say a deleted service (or each service of a namespace) holds addresses.
   */
  private static void releaseHolders(Transaction tx, ServiceHolders holders, ResourceId id) {
    java.util.function.Predicate<String> mine =
        id.kind() == ResourceKind.NAMESPACE
            ? who -> who.startsWith(id.name() + "/")
            : who -> who.equals(id.namespace() + "/" + id.name());
    holders.ips.forEach(
        (ip, who) -> {
          if (mine.test(who)) {
            tx.delete(Keys.Services.ip(ip));
          }
        });
    holders.nodePorts.forEach(
        (port, who) -> {
          if (mine.test(who)) {
            tx.delete(Keys.Services.nodePort(port));
          }
        });
  }

  /** The stored values of these keys: one range read per kind and namespace, not one per key. */
  private Map<String, String> current(Set<String> keys) {
    Set<String> prefixes = new java.util.TreeSet<>();
    for (String k : keys) {
      prefixes.add(k.substring(0, k.lastIndexOf('/') + 1));
    }
    Map<String, String> out = new java.util.HashMap<>();
    for (String prefix : prefixes) {
      for (Entry e : kv.list(prefix).entries()) {
        if (keys.contains(e.key())) {
          out.put(e.key(), e.value());
        }
      }
    }
    return out;
  }

  /** A stored resource: its id, its JSON and the revision it was last written at. */
  public record Stored(ResourceId id, String json, long modRevision) {}

  /** Stored resources of a kind (all kinds when empty), in a namespace (all when empty). */
  public List<Stored> list(Optional<ResourceKind> kind, String namespace) {
    List<Stored> out = new ArrayList<>();
    for (ResourceKind k : kind.map(List::of).orElse(List.of(ResourceKind.values()))) {
      String prefix =
          namespace.isEmpty() || !k.namespaced()
              ? Keys.Resources.kind(k.plural())
              : Keys.Resources.namespace(k.plural(), namespace);
      for (Entry e : kv.list(prefix).entries()) {
        StandaloneSource.idOf(e.key())
            .ifPresent(id -> out.add(new Stored(id, e.value(), e.modRevision())));
      }
    }
    return out;
  }

  public static String key(ResourceId id) {
    return Keys.Resources.resource(id.kind().plural(), id.namespace(), id.name());
  }
}
