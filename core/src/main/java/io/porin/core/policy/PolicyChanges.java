package io.porin.core.policy;

import io.porin.core.ipam.Cidr;
import java.util.Map;
import java.util.Set;

/**
 * What one {@link PolicyCompiler#commit()} changed: the identities whose compiled policy is new or
 * different, the identities that no longer exist, and the CIDR identities (when they changed).
 *
 * @param patchedPeers for updated identities that were only patched (not recompiled): the peers
 *     whose entries may have changed; every other peer's entries are the very same objects as
 *     before. Identities missing here were compiled in full.
 */
public record PolicyChanges(
    long revision,
    Map<Integer, IdentityPolicy> updated,
    Map<Integer, Set<Integer>> patchedPeers,
    Set<Integer> removed,
    Map<Cidr, Integer> cidrIdentities,
    boolean cidrIdentitiesChanged) {

  public PolicyChanges {
    updated = Map.copyOf(updated);
    patchedPeers = Map.copyOf(patchedPeers);
    removed = Set.copyOf(removed);
    cidrIdentities = Map.copyOf(cidrIdentities);
  }

  public boolean isEmpty() {
    return updated.isEmpty() && removed.isEmpty() && !cidrIdentitiesChanged;
  }
}
