package io.porin.core.policy;

import io.porin.core.ipam.Cidr;
import java.util.List;

/** Who is on the other side of a rule. */
public sealed interface Peer {

  /** Endpoints whose labels match the selector (already scoped to the policy's namespace). */
  record Endpoints(Selector selector) implements Peer {}

  /** A Cilium entity (never {@code DNS}: the parser turns that into endpoints on port 53). */
  record Entities(Entity entity) implements Peer {}

  /**
   * Addresses in {@code base} but in none of {@code except}. Cilium CIDR rules ({@code ipBlock} is
   * false) select addresses outside the cluster through CIDR identities; Kubernetes {@code
   * ipBlock}s select any address, pods included, as the upstream conformance tests expect.
   */
  record Addresses(Cidr base, List<Cidr> except, boolean ipBlock) implements Peer {
    public Addresses {
      except = List.copyOf(except);
    }
  }
}
