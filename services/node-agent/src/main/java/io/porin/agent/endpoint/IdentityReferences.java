package io.porin.agent.endpoint;

import io.grpc.StatusRuntimeException;
import io.porin.agent.control.IdentityClient;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * This node's references to identities: taken when an endpoint gets an identity, released when no
 * endpoint has it any more, kept alive on a lease. When the identity service is away, releases wait
 * and are retried; after a lost lease or a restart every endpoint's reference is taken again
 * (allocation is idempotent per owner).
 */
public final class IdentityReferences {
  private static final Logger LOG = Logger.getLogger(IdentityReferences.class);

  private final IdentityClient client;
  private final String owner;
  private final Endpoints endpoints;
  private final Set<Integer> pendingReleases = ConcurrentHashMap.newKeySet();
  private volatile boolean needRefresh;

  public IdentityReferences(IdentityClient client, String owner, Endpoints endpoints) {
    this.client = client;
    this.owner = owner;
    this.endpoints = endpoints;
  }

  /** The identity of a label set, referenced by this node. */
  public int allocate(List<String> labels) {
    int id = client.allocate(labels, owner);
    pendingReleases.remove(id);
    return id;
  }

  /** Releases an identity unless an endpoint other than {@code exceptEndpoint} still has it. */
  public void releaseIfUnused(int identity, int exceptEndpoint) {
    if (endpoints.identityUsed(identity, exceptEndpoint)) {
      return;
    }
    try {
      client.release(identity, owner);
    } catch (StatusRuntimeException e) {
      pendingReleases.add(identity);
    }
  }

  /** Identities may have been collected while the agent was away: take references again. */
  public void refreshSoon() {
    needRefresh = true;
  }

  /** The releases still waiting for the identity service. */
  public Set<Integer> pending() {
    return Set.copyOf(pendingReleases);
  }

  /** Keeps the references alive, retakes them when needed, and retries pending releases. */
  public void keepAlive() {
    try {
      if (client.keepAlive(owner) <= 0) {
        needRefresh = true;
      }
    } catch (StatusRuntimeException e) {
      needRefresh = true;
      return;
    }
    if (needRefresh) {
      try {
        for (LiveEndpoint live : endpoints.list()) {
          client.allocate(live.endpoint().labels(), owner);
        }
        needRefresh = false;
      } catch (StatusRuntimeException e) {
        LOG.debugf("identity service: %s", e.getMessage());
      }
    }
    for (int id : Set.copyOf(pendingReleases)) {
      if (endpoints.identityUsed(id, -1)) {
        pendingReleases.remove(id);
        continue;
      }
      try {
        client.release(id, owner);
        pendingReleases.remove(id);
      } catch (StatusRuntimeException e) {
        break;
      }
    }
  }
}
