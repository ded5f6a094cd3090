package io.porin.core.policy;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The local identities of the prefixes Cilium CIDR rules name (toCIDR, toCIDRSet, fromCIDR...): one
 * per base and except prefix, allocated here, kept while a rule names the prefix, handed to the
 * ipcache (cilium's CIDR identities).
 */
final class CidrIdentities {
  static final int WORLD = ReservedIdentity.WORLD.id().value();
  static final int WORLD_V4 = ReservedIdentity.WORLD_IPV4.id().value();
  static final int WORLD_V6 = ReservedIdentity.WORLD_IPV6.id().value();

  private final Map<Cidr, Integer> byPrefix = new TreeMap<>();

  /** Prefix to identity (live; read-only for callers). */
  Map<Cidr, Integer> byPrefix() {
    return byPrefix;
  }

  /**
   * Keeps identities for exactly the prefixes {@code rules} name, allocating new ones; true when
   * the set changed.
   */
  boolean follow(List<PolicyRule> rules) {
    Set<Cidr> wanted = new TreeSet<>();
    for (PolicyRule r : rules) {
      for (RuleItem item : r.items()) {
        if (item.peers() != null) {
          for (Peer p : item.peers()) {
            if (p instanceof Peer.Addresses a && !a.ipBlock()) {
              wanted.add(a.base());
              wanted.addAll(a.except());
            }
          }
        }
      }
    }
    if (wanted.equals(byPrefix.keySet())) {
      return false;
    }
    byPrefix.keySet().retainAll(wanted);
    Set<Integer> used = new HashSet<>(byPrefix.values());
    int next = NumericIdentity.LOCAL_SCOPE + 1;
    for (Cidr c : wanted) {
      if (!byPrefix.containsKey(c)) {
        while (used.contains(next)) {
          next++;
        }
        byPrefix.put(c, next);
        used.add(next);
      }
    }
    return true;
  }

  /** Whether a rule's peers depend on the CIDR identities (CIDR peers, or the world entity). */
  static boolean usedBy(PolicyRule r) {
    for (RuleItem item : r.items()) {
      if (item.peers() != null) {
        for (Peer p : item.peers()) {
          if ((p instanceof Peer.Addresses a && !a.ipBlock())
              || (p instanceof Peer.Entities e && e.entity() == Entity.WORLD)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * CIDR identities inside the base and outside every except; for a /0 also the world of its family
   * (only: toCIDR 0.0.0.0/0 is the IPv4 world, not the IPv6 one).
   */
  Set<Integer> peers(Peer.Addresses a) {
    Set<Integer> out = new HashSet<>();
    for (Map.Entry<Cidr, Integer> e : byPrefix.entrySet()) {
      if (selects(a, e.getKey())) {
        out.add(e.getValue());
      }
    }
    if (a.base().prefixLength() == 0) {
      out.add(a.base().family() == Cidr.Family.IPV4 ? WORLD_V4 : WORLD_V6);
    }
    return out;
  }

  /** The world entity: every world identity and every CIDR identity. */
  Set<Integer> world() {
    Set<Integer> s = new HashSet<>(Set.of(WORLD, WORLD_V4, WORLD_V6));
    s.addAll(byPrefix.values());
    return s;
  }

  /** True when every address of {@code p} is in the base and in no except. */
  static boolean selects(Peer.Addresses a, Cidr p) {
    if (a.base().family() != p.family() || !a.base().contains(p)) {
      return false;
    }
    for (Cidr e : a.except()) {
      if (e.contains(p)) {
        return false;
      }
    }
    return true;
  }

  /**
   * An outside address's identity as a node's ipcache gives it: the longest CIDR identity that
   * holds it, else the world of its family.
   */
  static int outside(
      Map<Cidr, Integer> cidrIdentities, java.math.BigInteger address, Cidr.Family family) {
    int id = family == Cidr.Family.IPV4 ? WORLD_V4 : WORLD_V6;
    int best = -1;
    for (Map.Entry<Cidr, Integer> c : cidrIdentities.entrySet()) {
      if (c.getKey().family() == family
          && c.getKey().contains(address)
          && c.getKey().prefixLength() > best) {
        best = c.getKey().prefixLength();
        id = c.getValue();
      }
    }
    return id;
  }
}
