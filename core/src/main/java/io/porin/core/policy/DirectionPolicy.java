package io.porin.core.policy;

import io.porin.core.ipam.Cidr;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * An endpoint's policy for one direction: whether it is enforced (default deny), what happens when
 * no entry matches and why, the entries by peer, and the address classes of ipBlock rules.
 *
 * @param defaultDenyBy the policies whose sections turned default deny on (empty when not enforced,
 *     or when enforcement mode {@code always} did)
 */
public record DirectionPolicy(
    Direction direction,
    boolean enforced,
    Verdict defaultVerdict,
    List<PolicyRef> defaultDenyBy,
    Map<Integer, List<PolicyEntry>> byPeer,
    List<CidrClass> cidrClasses) {

  public DirectionPolicy {
    defaultDenyBy = List.copyOf(defaultDenyBy);
    byPeer = Map.copyOf(byPeer);
    cidrClasses = List.copyOf(cidrClasses);
  }

  /** Every entry, sorted by key. */
  public List<PolicyEntry> entries() {
    List<PolicyEntry> all = new ArrayList<>();
    byPeer.values().forEach(all::addAll);
    all.sort(Comparator.comparingLong(PolicyEntry::key));
    return all;
  }

  public int entryCount() {
    int n = 0;
    for (List<PolicyEntry> l : byPeer.values()) {
      n += l.size();
    }
    return n;
  }

  /**
   * Decides as the datapath does: the longest-prefix entry for the peer's identity, for any peer,
   * and for the peer address's class; the strongest verdict wins (deny, then audit, then allow);
   * nothing matching gives the default.
   *
   * @param peerAddress the peer's address, for ipBlock rules; null when unknown
   */
  public Decision decide(
      int peer, BigInteger peerAddress, Cidr.Family family, Protocol protocol, int port) {
    PolicyEntry best = longest(byPeer.get(peer), protocol, port);
    PolicyEntry wildcard = longest(byPeer.get(PolicyEntry.ANY_PEER), protocol, port);
    PolicyEntry byAddress = null;
    if (peerAddress != null) {
      CidrClass c = classOf(peerAddress, family);
      if (c != null) {
        byAddress = longest(byPeer.get(c.classId()), protocol, port);
      }
    }
    PolicyEntry chosen = null;
    for (PolicyEntry e : new PolicyEntry[] {best, byAddress, wildcard}) {
      if (e != null
          && (chosen == null
              || e.verdict().compareTo(chosen.verdict()) > 0
              || (e.verdict() == chosen.verdict() && e.prefixLength() > chosen.prefixLength()))) {
        chosen = e;
      }
    }
    if (chosen != null) {
      return new Decision(direction, chosen.verdict(), chosen, enforced, defaultDenyBy);
    }
    return new Decision(direction, defaultVerdict, null, enforced, defaultDenyBy);
  }

  /** The longest class prefix holding the address, if any. */
  public CidrClass classOf(BigInteger address, Cidr.Family family) {
    CidrClass best = null;
    for (CidrClass c : cidrClasses) {
      if (c.prefix().family() == family
          && c.prefix().contains(address)
          && (best == null || c.prefix().prefixLength() > best.prefix().prefixLength())) {
        best = c;
      }
    }
    return best;
  }

  private static PolicyEntry longest(List<PolicyEntry> entries, Protocol protocol, int port) {
    if (entries == null) {
      return null;
    }
    PolicyEntry best = null;
    for (PolicyEntry e : entries) {
      if (e.matches(protocol, port) && (best == null || e.prefixLength() > best.prefixLength())) {
        best = e;
      }
    }
    return best;
  }
}
