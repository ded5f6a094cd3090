package io.porin.agent.endpoint;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyMapOverflowException;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.core.policy.IdentityPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Puts an endpoint's policy into the kernel without a packet ever meeting half of it: the policy is
 * written into the endpoint's idle slot (policy map and ipBlock classes), then one update of the
 * endpoint switches identity, defaults, flags, slot and a new node-unique revision together.
 * Connections decided under the old revision are decided again on their next packet.
 *
 * <p>A policy that does not fit locks the endpoint down (everything denied). Callers hold the
 * {@link Endpoints} lock.
 */
public final class PolicyEnforcer {
  private static final Logger LOG = Logger.getLogger(PolicyEnforcer.class);

  private final Datapath datapath;
  private final PolicyTranslator translator;
  private final Revisions revisions;
  private final AtomicLong overflows = new AtomicLong();
  private final Map<Integer, List<CompletableFuture<Void>>> waiters = new HashMap<>();

  public PolicyEnforcer(Datapath datapath, PolicyTranslator translator, Revisions revisions) {
    this.datapath = datapath;
    this.translator = translator;
    this.revisions = revisions;
  }

  /** Times a policy did not fit an endpoint's policy map. */
  public long overflows() {
    return overflows.get();
  }

  /** Enforces an identity's policy on an endpoint (the endpoint's identity is the policy's). */
  public void applyLocked(LiveEndpoint live, IdentityPolicy policy, long clusterRevision) {
    Endpoint e = live.endpoint();
    PolicyTranslator.Translated t = translator.translate(policy);
    try {
      enforce(live, t);
      live.enforcement(
          t.entries().size(),
          (t.flags() & MapLayouts.EP_ENFORCE_INGRESS) != 0,
          (t.flags() & MapLayouts.EP_ENFORCE_EGRESS) != 0);
      live.state(EndpointState.READY);
    } catch (PolicyMapOverflowException overflow) {
      overflows.incrementAndGet();
      LOG.errorf(
          "endpoint %d (%s): %s; locked down (all traffic denied) until the policy fits",
          e.id(), e.displayName(), overflow.getMessage());
      lockdownLocked(live, overflow.getMessage());
      live.state(new EndpointState.PolicyOverflow(overflow.getMessage()));
    }
    live.restored = false;
    live.policyRevision(clusterRevision);
    release(e.identity());
  }

  /** Denies everything in both directions (policy unknown). */
  public void lockdownLocked(LiveEndpoint live, String why) {
    enforce(live, translator.lockdown());
    live.enforcement(0, true, true);
    live.state(new EndpointState.WaitingForPolicy(why));
  }

  /** The idle slot gets the content, then the endpoint switches to it with a new revision. */
  private void enforce(LiveEndpoint live, PolicyTranslator.Translated t) {
    Endpoint e = live.endpoint();
    EndpointConfig now = live.config;
    // a new endpoint has no live slot yet: either is idle
    int idle = now == null ? 0 : now.policySlot() ^ 1;
    EndpointConfig next =
        t.endpoint(
            e.id(),
            e.identity(),
            now == null ? 0 : now.policyRevision(),
            now == null ? 0 : now.policySlot(),
            e.podMac(),
            e.hostMac(),
            e.ipv4(),
            e.ipv6());
    if (live.applied != null && live.applied.equals(t.content()) && next.sameSettings(now)) {
      return; // the kernel already holds exactly this
    }
    datapath.writePolicy(e.id(), idle, t.content());
    next = next.withRevision(revisions.next(), idle);
    datapath.putEndpoint(e.ifindex(), next);
    live.applied = t.content();
    live.config = next;
  }

  // ---- CNI ADD waits for the new endpoint's policy

  /** Waits until the endpoint's identity has a policy applied, at most {@code millis}. */
  public void awaitPolicy(LiveEndpoint live, long millis) {
    if (!(live.state() instanceof EndpointState.WaitingForPolicy)) {
      return;
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (waiters) {
      waiters.computeIfAbsent(live.endpoint().identity(), k -> new ArrayList<>()).add(f);
    }
    if (!(live.state() instanceof EndpointState.WaitingForPolicy)) {
      return;
    }
    try {
      f.get(millis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      LOG.warnf(
          "endpoint %d (%s): no policy after %d ms; it stays locked down until one arrives",
          live.endpoint().id(), live.endpoint().displayName(), millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e);
    }
  }

  private void release(int identity) {
    List<CompletableFuture<Void>> done;
    synchronized (waiters) {
      done = waiters.remove(identity);
    }
    if (done != null) {
      done.forEach(f -> f.complete(null));
    }
  }
}
