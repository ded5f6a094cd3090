package io.porin.core.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The enforceable policies' rules, in policy order, and which rules select each subject (cilium
 * {@code pkg/policy/repository.go}'s rule list). Each rule's selectors are registered in the
 * selector cache while the rule exists.
 */
final class RuleIndex {
  private final SelectorCache selectors;
  private final Map<PolicyRef, List<PolicyRule>> policies = new HashMap<>();
  private List<PolicyRule> rules = List.of();
  // The cache's live sets, looked up by the rule and selector instances (identity hashing: a
  // Selector's own hashCode walks its requirements, and these lookups are the hot path).
  private final Map<PolicyRule, Set<Integer>> subjectSets = new IdentityHashMap<>();
  private final Map<Selector, Set<Integer>> peerSets = new IdentityHashMap<>();
  // The rules selecting each subject; whether a rule selects an identity depends only on the
  // rule and that identity's labels, so an entry is dropped when either changes.
  private final Map<Integer, List<PolicyRule>> rulesOf = new HashMap<>();

  RuleIndex(SelectorCache selectors) {
    this.selectors = selectors;
  }

  /** All rules, in policy order. */
  List<PolicyRule> all() {
    return rules;
  }

  /** A policy's rules (empty when it is not known). */
  List<PolicyRule> of(PolicyRef ref) {
    return policies.getOrDefault(ref, List.of());
  }

  /**
   * Adds or replaces a policy's rules; the subjects its old and new rules select go into {@code
   * affected}.
   */
  void put(PolicyRef ref, List<PolicyRule> policyRules, Set<Integer> affected) {
    forget(ref, affected);
    List<PolicyRule> copy = List.copyOf(policyRules);
    policies.put(ref, copy);
    for (PolicyRule r : copy) {
      for (Selector s : selectorsOf(r)) {
        selectors.use(s);
      }
      affected.addAll(subjects(r));
    }
    rebuild();
  }

  /** Removes a policy's rules; their subjects go into {@code affected}. True when it existed. */
  boolean remove(PolicyRef ref, Set<Integer> affected) {
    if (!forget(ref, affected)) {
      return false;
    }
    rebuild();
    return true;
  }

  private boolean forget(PolicyRef ref, Set<Integer> affected) {
    List<PolicyRule> old = policies.remove(ref);
    if (old == null) {
      return false;
    }
    for (PolicyRule r : old) {
      affected.addAll(subjects(r));
      for (Selector s : selectorsOf(r)) {
        selectors.release(s);
      }
    }
    return true;
  }

  /** The rules that select {@code subject}. */
  List<PolicyRule> selecting(int subject) {
    List<PolicyRule> mine = rulesOf.get(subject);
    if (mine == null) {
      List<PolicyRule> found = new ArrayList<>();
      for (PolicyRule r : rules) {
        if (subjectSets.get(r).contains(subject)) {
          found.add(r);
        }
      }
      mine = List.copyOf(found);
      rulesOf.put(subject, mine);
    }
    return mine;
  }

  /** An identity's labels changed or it went: which rules select it is computed again. */
  void forgetSubject(int id) {
    rulesOf.remove(id);
  }

  /** The cluster identities a rule selects as subjects (reserved ones are not Porin endpoints). */
  Set<Integer> subjects(PolicyRule r) {
    Set<Integer> s = new HashSet<>(selectors.get(r.subject()));
    s.removeIf(id -> !selectors.has(id));
    return s;
  }

  /** The live set of a peer selector of a rule. */
  Set<Integer> peers(Selector s) {
    return peerSets.get(s);
  }

  /** Whether any rule has a requirement (fromRequires, toRequires). */
  boolean anyRequires() {
    return rules.stream()
        .anyMatch(r -> !r.ingressRequires().isEmpty() || !r.egressRequires().isEmpty());
  }

  private void rebuild() {
    List<PolicyRule> all = new ArrayList<>();
    policies.keySet().stream().sorted().forEach(ref -> all.addAll(policies.get(ref)));
    rules = List.copyOf(all);
    rulesOf.clear();
    subjectSets.clear();
    peerSets.clear();
    for (PolicyRule r : rules) {
      subjectSets.put(r, selectors.get(r.subject()));
      for (RuleItem item : r.items()) {
        if (item.peers() != null) {
          for (Peer p : item.peers()) {
            if (p instanceof Peer.Endpoints e) {
              peerSets.put(e.selector(), selectors.get(e.selector()));
            }
          }
        }
      }
    }
  }

  private static List<Selector> selectorsOf(PolicyRule r) {
    List<Selector> out = new ArrayList<>();
    out.add(r.subject());
    out.addAll(r.ingressRequires());
    out.addAll(r.egressRequires());
    for (RuleItem item : r.items()) {
      if (item.peers() != null) {
        for (Peer p : item.peers()) {
          if (p instanceof Peer.Endpoints e) {
            out.add(e.selector());
          }
        }
      }
    }
    return out;
  }
}
