package io.porin.service.tls;

import io.porin.tls.PeerIdentity;
import java.util.Set;

/**
 * Which kinds of certificate may call which of a service's methods; each service provides its
 * table. Checks that depend on the request (a node acting for its own node only) are made by the
 * service with {@link Authorization#requireNode}.
 */
public interface AccessRules {
  /** Reads: every identity of the cluster. */
  Set<PeerIdentity.Kind> ANYONE = Set.of(PeerIdentity.Kind.values());

  /** Writes by the cluster's own components and admins (no readers). */
  Set<PeerIdentity.Kind> COMPONENTS =
      Set.of(PeerIdentity.Kind.SERVICE, PeerIdentity.Kind.NODE, PeerIdentity.Kind.ADMIN);

  /** Everyone but node agents: what one node must not read of another (flows, status). */
  Set<PeerIdentity.Kind> NOT_NODES =
      Set.of(PeerIdentity.Kind.SERVICE, PeerIdentity.Kind.ADMIN, PeerIdentity.Kind.READER);

  /** Admins only. */
  Set<PeerIdentity.Kind> ADMINS = Set.of(PeerIdentity.Kind.ADMIN);

  /**
   * The kinds that may call {@code fullMethodName} ({@code package.Service/Method}); an empty set
   * for a method the table does not know (refused).
   */
  Set<PeerIdentity.Kind> allowed(String fullMethodName);
}
