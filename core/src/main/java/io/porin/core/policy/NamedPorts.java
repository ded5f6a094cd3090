package io.porin.core.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The endpoints' named container ports, merged per identity (named ports resolve per owner). */
final class NamedPorts {
  private record Endpoint(int identity, List<NamedPort> ports) {}

  private final Map<String, Endpoint> endpoints = new HashMap<>();
  private final Map<Integer, Map<String, List<NamedPort>>> byOwner = new HashMap<>();

  /** Adds or changes an endpoint; returns the identities whose named ports changed. */
  List<Integer> put(String key, int identity, List<NamedPort> ports) {
    Endpoint fresh = new Endpoint(identity, List.copyOf(ports));
    Endpoint old = endpoints.put(key, fresh);
    List<Integer> changed = new ArrayList<>();
    if (old != null && old.identity != identity && recompute(old.identity)) {
      changed.add(old.identity);
    }
    if ((old == null || !old.equals(fresh)) && recompute(identity)) {
      changed.add(identity);
    }
    return changed;
  }

  /** Removes an endpoint; returns the identities whose named ports changed. */
  List<Integer> remove(String key) {
    Endpoint old = endpoints.remove(key);
    return old != null && recompute(old.identity) ? List.of(old.identity) : List.of();
  }

  /** The named ports of an identity's endpoints (null when none). */
  Map<String, List<NamedPort>> of(int owner) {
    return byOwner.get(owner);
  }

  /** Every identity with named ports (live; read-only for callers). */
  Map<Integer, Map<String, List<NamedPort>>> all() {
    return byOwner;
  }

  private boolean recompute(int identity) {
    Map<String, List<NamedPort>> byName = new HashMap<>();
    for (Endpoint e : endpoints.values()) {
      if (e.identity == identity) {
        for (NamedPort np : e.ports) {
          List<NamedPort> l = byName.computeIfAbsent(np.name(), k -> new ArrayList<>());
          if (!l.contains(np)) {
            l.add(np);
          }
        }
      }
    }
    Map<String, List<NamedPort>> old =
        byName.isEmpty() ? byOwner.remove(identity) : byOwner.put(identity, byName);
    return !Objects.equals(old, byName.isEmpty() ? null : byName);
  }
}
