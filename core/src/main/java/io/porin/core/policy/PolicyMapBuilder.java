package io.porin.core.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Collects one direction's policy map entries by key; the strongest verdict wins a key and keeps
 * its rules, and deny is pushed down into narrower entries (cilium {@code mapstate.go}).
 */
final class PolicyMapBuilder {
  private final Map<Long, PolicyEntry> entries = new HashMap<>();
  private final Map<Long, Set<RuleRef>> refs = new HashMap<>();

  void put(int peer, Protocol p, int port, int len, Verdict v, RuleRef ref) {
    long key = PolicyEntry.key(peer, p, port, len);
    PolicyEntry e = entries.get(key);
    if (e == null || v.compareTo(e.verdict()) > 0) {
      entries.put(key, new PolicyEntry(peer, p, port, len, v, false, List.of()));
      Set<RuleRef> s = new TreeSet<>();
      s.add(ref);
      refs.put(key, s);
    } else if (v == e.verdict()) {
      refs.get(key).add(ref);
    }
  }

  /**
   * The entries by peer, with deny (and audit) pushed down: an entry inside a broader, stronger
   * entry of the same peer takes that verdict, so that a longest-prefix lookup never lets a narrow
   * allow undo a wide deny.
   */
  Map<Integer, List<PolicyEntry>> entries() {
    Map<Integer, List<PolicyEntry>> byPeer = new HashMap<>();
    for (Map.Entry<Long, PolicyEntry> e : entries.entrySet()) {
      PolicyEntry pe = e.getValue().with(e.getValue().verdict(), List.copyOf(refs.get(e.getKey())));
      byPeer.computeIfAbsent(pe.peer(), k -> new ArrayList<>()).add(pe);
    }
    Map<Integer, List<PolicyEntry>> out = new HashMap<>();
    for (Map.Entry<Integer, List<PolicyEntry>> e : byPeer.entrySet()) {
      List<PolicyEntry> list = e.getValue();
      list.sort(
          Comparator.comparingInt(PolicyEntry::prefixLength).thenComparingLong(PolicyEntry::key));
      for (int i = 0; i < list.size(); i++) {
        PolicyEntry narrow = list.get(i);
        for (int j = 0; j < i; j++) {
          PolicyEntry wide = list.get(j);
          if (wide.prefixLength() < narrow.prefixLength()
              && wide.covers(narrow)
              && wide.verdict().compareTo(narrow.verdict()) > 0) {
            narrow = narrow.with(wide.verdict(), wide.rules());
          }
        }
        list.set(i, narrow);
      }
      list.sort(Comparator.comparingLong(PolicyEntry::key));
      out.put(e.getKey(), List.copyOf(list));
    }
    return out;
  }
}
