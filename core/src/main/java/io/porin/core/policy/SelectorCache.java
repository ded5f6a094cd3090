package io.porin.core.policy;

import io.porin.core.identity.ReservedIdentity;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The compiler's identities and which of them each selector in use selects: selector → identities,
 * reference-counted by the rules that use the selector, kept current as identities come, change and
 * go (cilium {@code pkg/policy/selectorcache.go}). Reserved identities are always known.
 */
final class SelectorCache {
  static final Map<Integer, LabelSet> RESERVED = reserved();

  private final Map<Integer, LabelSet> identities = new HashMap<>();
  // Cluster identities by "key=value" (source left out): the candidates of an In requirement.
  private final Map<String, Set<Integer>> byLabel = new HashMap<>();
  private final Map<Selector, Set<Integer>> selected = new HashMap<>();
  private final Map<Selector, Integer> users = new HashMap<>();

  /** The cluster identities fed in, by ID (read-only for callers). */
  Map<Integer, LabelSet> identities() {
    return identities;
  }

  LabelSet labels(int id) {
    return identities.get(id);
  }

  boolean has(int id) {
    return identities.containsKey(id);
  }

  /** Records an identity's labels; returns the labels it had (null when new). */
  LabelSet put(int id, LabelSet labels) {
    LabelSet old = identities.put(id, labels);
    if (labels.equals(old)) {
      return old;
    }
    if (old != null) {
      unindex(id, old);
    }
    index(id, labels);
    return old;
  }

  /** Forgets an identity; returns its labels (null when it was not known). */
  LabelSet remove(int id) {
    LabelSet old = identities.remove(id);
    if (old != null) {
      unindex(id, old);
    }
    return old;
  }

  /** Takes {@code id} out of every selector's set. */
  void unselect(int id) {
    for (Set<Integer> s : selected.values()) {
      s.remove(id);
    }
  }

  /** Puts {@code id} into the set of every selector that matches {@code labels}. */
  void select(int id, LabelSet labels) {
    for (Map.Entry<Selector, Set<Integer>> e : selected.entrySet()) {
      if (e.getKey().matches(labels)) {
        e.getValue().add(id);
      }
    }
  }

  /** The live set of a selector in use (null when no rule uses it). */
  Set<Integer> get(Selector s) {
    return selected.get(s);
  }

  /** The set of a selector, computed when no rule uses it. */
  Set<Integer> getOrCompute(Selector s) {
    Set<Integer> cached = selected.get(s);
    return cached != null ? cached : compute(s);
  }

  void use(Selector s) {
    if (users.merge(s, 1, Integer::sum) == 1) {
      selected.put(s, compute(s));
    }
  }

  void release(Selector s) {
    if (users.merge(s, -1, Integer::sum) == 0) {
      users.remove(s);
      selected.remove(s);
    }
  }

  private Set<Integer> compute(Selector s) {
    Set<Integer> out = new HashSet<>();
    // Start from the smallest In requirement's candidates when there is one; check them all.
    Set<Integer> candidates = null;
    for (Requirement r : s.requirements()) {
      if (r.operator() == Requirement.Operator.IN) {
        Set<Integer> c = new HashSet<>();
        for (String v : r.values()) {
          c.addAll(byLabel.getOrDefault(r.bareKey() + "=" + v, Set.of()));
        }
        if (candidates == null || c.size() < candidates.size()) {
          candidates = c;
        }
      }
    }
    if (candidates == null) {
      identities.forEach(
          (id, labels) -> {
            if (s.matches(labels)) {
              out.add(id);
            }
          });
    } else {
      for (int id : candidates) {
        if (s.matches(identities.get(id))) {
          out.add(id);
        }
      }
    }
    RESERVED.forEach(
        (id, labels) -> {
          if (s.matches(labels)) {
            out.add(id);
          }
        });
    return out;
  }

  private void index(int id, LabelSet labels) {
    for (Label l : labels) {
      byLabel.computeIfAbsent(l.key() + "=" + l.value(), k -> new HashSet<>()).add(id);
    }
  }

  private void unindex(int id, LabelSet labels) {
    for (Label l : labels) {
      String k = l.key() + "=" + l.value();
      Set<Integer> ids = byLabel.get(k);
      if (ids != null) {
        ids.remove(id);
        if (ids.isEmpty()) {
          byLabel.remove(k);
        }
      }
    }
  }

  private static Map<Integer, LabelSet> reserved() {
    Map<Integer, LabelSet> m = new HashMap<>();
    for (ReservedIdentity r : ReservedIdentity.values()) {
      m.put(r.id().value(), r.labels());
    }
    return Map.copyOf(m);
  }
}
