package io.porin.policy.store;

import io.porin.core.resource.Json;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.YamlDocuments;
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

  public ResourceStore(KvStore kv) {
    this.kv = kv;
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
