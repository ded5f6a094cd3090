package io.porin.core.policy;

import io.porin.core.labels.LabelSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.IntPredicate;

/**
 * What the next commit must recompute: identities to compile in full, identities whose entries for
 * some peers must be patched, identities gone, and whether the CIDR identities changed (cilium's
 * repository revisions and per-selector notifications, kept as dirty sets).
 */
final class ChangeTracker {
  private final SelectorCache selectors;
  private final RuleIndex rules;
  private final IntPredicate inThisCluster;

  /** Identities to compile from scratch. */
  final Set<Integer> full = new HashSet<>();

  /** Subject → peers whose entries in the subject's policy may differ. */
  final Map<Integer, Set<Integer>> peers = new HashMap<>();

  /** Identities removed since the last commit. */
  final Set<Integer> removed = new HashSet<>();

  /** Whether the CIDR identities changed since the last commit. */
  boolean cidrChanged;

  ChangeTracker(SelectorCache selectors, RuleIndex rules, IntPredicate inThisCluster) {
    this.selectors = selectors;
    this.rules = rules;
    this.inThisCluster = inThisCluster;
  }

  /** An identity appeared or changed labels: compile it in full. */
  void changed(int id) {
    full.add(id);
    removed.remove(id);
  }

  /** An identity went. */
  void gone(int id) {
    full.remove(id);
    peers.remove(id);
    removed.add(id);
  }

  /** Marks, for a peer identity that appears, changes or goes, the subjects that may see it. */
  void markPeer(int peer, LabelSet labels) {
    boolean anyRequires = rules.anyRequires();
    for (PolicyRule r : rules.all()) {
      if (maySelect(r, peer, labels, anyRequires)) {
        for (int s : rules.subjects(r)) {
          peers.computeIfAbsent(s, k -> new HashSet<>()).add(peer);
        }
      }
    }
  }

  private boolean maySelect(PolicyRule r, int peer, LabelSet labels, boolean anyRequires) {
    for (RuleItem item : r.items()) {
      if (item.anyPeer()) {
        if (anyRequires || (item.direction() == Direction.EGRESS && item.hasNamedPorts())) {
          return true;
        }
        continue;
      }
      for (Peer p : item.peers()) {
        boolean hit =
            switch (p) {
              case Peer.Endpoints e -> e.selector().matches(labels);
              case Peer.Entities en ->
                  en.entity() == Entity.CLUSTER && inThisCluster.test(peer)
                      || en.entity() == Entity.ALL
                          && item.direction() == Direction.EGRESS
                          && item.hasNamedPorts();
              case Peer.Addresses a -> false;
            };
        if (hit) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * An identity's named ports changed: it is compiled in full (its ingress resolves them), and the
   * subjects of rules with egress named ports patch it as a peer.
   */
  void namedPortsChanged(int identity) {
    if (selectors.has(identity)) {
      full.add(identity);
    }
    for (PolicyRule r : rules.all()) {
      boolean egressNamed =
          r.items().stream().anyMatch(i -> i.direction() == Direction.EGRESS && i.hasNamedPorts());
      if (egressNamed) {
        for (int s : rules.subjects(r)) {
          peers.computeIfAbsent(s, k -> new HashSet<>()).add(identity);
        }
      }
    }
  }

  /** The CIDR identities changed: the subjects of rules that use them are compiled in full. */
  void markCidrUsers() {
    for (PolicyRule r : rules.all()) {
      if (CidrIdentities.usedBy(r)) {
        full.addAll(rules.subjects(r));
      }
    }
  }

  void clear() {
    full.clear();
    peers.clear();
    removed.clear();
    cidrChanged = false;
  }
}
