package io.porin.core.service;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A global service's backends across a cluster mesh, as Cilium merges them: a service of this
 * cluster marked global takes the backends of every connected cluster's service of the same
 * namespace and name that is global and shared too; its affinity then prefers this cluster's
 * backends ({@code local}) or the others' ({@code remote}) while one of the preferred is ready, and
 * falls back to all of them otherwise. A service that is not global here takes nothing from
 * elsewhere, and a remote service with no local counterpart is not served (there is no frontend for
 * it).
 */
public final class GlobalServices {
  private GlobalServices() {}

  /**
   * A remote backend's targets in the order of this cluster's service ports: each local port takes
   * the target of the remote port with the same number and protocol, 0 (no backend for it) where
   * the remote service has no such port.
   */
  static ServiceRecord.Backend portsOf(
      ServiceRecord local, ServiceRecord remote, ServiceRecord.Backend b) {
    List<Integer> ports = new ArrayList<>();
    for (ServiceRecord.Port p : local.ports()) {
      int target = 0;
      for (int i = 0; i < remote.ports().size(); i++) {
        ServiceRecord.Port q = remote.ports().get(i);
        if (q.port() == p.port() && q.protocol() == p.protocol() && i < b.ports().size()) {
          target = b.ports().get(i);
          break;
        }
      }
      ports.add(target);
    }
    return new ServiceRecord.Backend(b.pod(), b.node(), b.addresses(), b.state(), ports);
  }

  /**
   * The record this cluster's load balancers serve for {@code local}.
   *
   * @param remote the same-named services of connected clusters, their backends' nodes already
   *     named {@code <cluster>/<node>}
   */
  public static ServiceRecord merge(ServiceRecord local, Collection<ServiceRecord> remote) {
    if (!local.mesh().global()) {
      return local;
    }
    List<ServiceRecord.Backend> theirs = new ArrayList<>();
    for (ServiceRecord r : remote) {
      if (r.namespace().equals(local.namespace())
          && r.name().equals(local.name())
          && r.mesh().exported()) {
        for (ServiceRecord.Backend b : r.backends()) {
          theirs.add(portsOf(local, r, b));
        }
      }
    }
    if (theirs.isEmpty()) {
      return local;
    }
    List<ServiceRecord.Backend> preferred =
        switch (local.mesh().affinity()) {
          case LOCAL -> local.backends();
          case REMOTE -> theirs;
          case NONE -> List.of();
        };
    boolean preferredReady =
        preferred.stream().anyMatch(b -> b.state() == ServiceRecord.State.ACTIVE);
    List<ServiceRecord.Backend> all = new ArrayList<>(local.backends());
    all.addAll(theirs);
    return local.withBackends(preferredReady ? preferred : all);
  }
}
