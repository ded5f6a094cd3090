package io.porin.core.policy;

import io.porin.core.ipam.Cidr;
import java.util.Map;
import java.util.Set;

/**
 * What one {@link PolicyCompiler#commit()} changed: the identities whose compiled policy is new or
 * different, the identities that no longer exist, and the CIDR identities (when they changed).
 */
public record PolicyChanges(
    long revision,
    Map<Integer, IdentityPolicy> updated,
    Set<Integer> removed,
    Map<Cidr, Integer> cidrIdentities,
    boolean cidrIdentitiesChanged) {

  public PolicyChanges {
    updated = Map.copyOf(updated);
    removed = Set.copyOf(removed);
    cidrIdentities = Map.copyOf(cidrIdentities);
  }

  public boolean isEmpty() {
    return updated.isEmpty() && removed.isEmpty() && !cidrIdentitiesChanged;
  }
}
