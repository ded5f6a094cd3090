package io.porin.agent.endpoint;

import io.porin.agent.control.PodLabels;
import io.porin.agent.control.PolicySource;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.net.PodWiring;
import io.porin.core.ipam.Cidr;
import io.porin.core.ipam.PodIpAllocator;
import io.porin.core.labels.LabelSet;
import io.porin.core.policy.IdentityPolicy;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * A pod endpoint's life on this node: added (CNI ADD), checked, relabelled, deleted (CNI DEL), and
 * kept on the policy this node's stream delivers. ADD is a recipe of named steps, each registering
 * its undo before it runs, so a failure at any step leaves nothing behind — links, addresses,
 * identity reference, maps, announcement. An endpoint is announced (to this node's fast path and
 * ipcache, and to the cluster) only once it enforces a policy: locked down until its own arrives.
 */
public final class EndpointLifecycle {
  private static final Logger LOG = Logger.getLogger(EndpointLifecycle.class);

  /** What a lifecycle needs; one record so that wiring (and tests) name each part. */
  public record Parts(
      NodeAddresses node,
      Datapath datapath,
      PodWiring wiring,
      EndpointStore store,
      PodLabels labels,
      IdentityReferences identities,
      EndpointAnnouncer announcer,
      PolicyEnforcer enforcer,
      Endpoints endpoints,
      int conntrackSize,
      long policyWaitMillis,
      int mtu) {}

  private final Parts p;
  private final PodIpAllocator ipv4;
  private final PodIpAllocator ipv6;
  private volatile PolicySource policies;

  public EndpointLifecycle(Parts parts) {
    this.p = parts;
    ipv4 = new PodIpAllocator(parts.node().ipv4Cidr(), parts.store().ipStore("ipv4"));
    ipv6 =
        parts.node().ipv6Cidr() == null
            ? null
            : new PodIpAllocator(parts.node().ipv6Cidr(), parts.store().ipStore("ipv6"));
  }

  /** Set once the policy stream exists (it needs the identities restored before it). */
  public void setPolicies(PolicySource policies) {
    this.policies = policies;
  }

  public NodeAddresses node() {
    return p.node();
  }

  // ---- ADD

  /** CNI ADD: idempotent per container and interface; waits (bounded) for the policy. */
  public LiveEndpoint add(PodRequest r) {
    LiveEndpoint live =
        p.endpoints()
            .call(
                () ->
                    p.endpoints()
                        .byContainer(r.containerId(), r.ifname())
                        .orElseGet(() -> create(r)));
    p.enforcer().awaitPolicy(live, p.policyWaitMillis());
    return live;
  }

  private LiveEndpoint create(PodRequest r) {
    Deque<Runnable> undo = new ArrayDeque<>();
    try {
      PodLabels.Found labels = p.labels().labels(r.namespace(), r.pod());
      String ip4 = Cidr.format(Cidr.Family.IPV4, ipv4.allocate(r.owner()));
      undo.push(() -> ipv4.release(r.owner()));
      String ip6 = null;
      if (ipv6 != null) {
        ip6 = Cidr.format(Cidr.Family.IPV6, ipv6.allocate(r.owner()));
        undo.push(() -> ipv6.release(r.owner()));
      }
      List<String> labelStrings = labels.labels().strings();
      int identity = p.identities().allocate(labelStrings);
      undo.push(() -> p.identities().releaseIfUnused(identity, -1));
      int id = p.endpoints().freeIdLocked();
      // registered first: a wiring that fails half-way leaves links behind
      undo.push(() -> p.wiring().delete(r.containerId(), r.ifname()));
      PodWiring.Wired wired =
          p.wiring()
              .create(
                  r.containerId(),
                  r.netns(),
                  r.ifname(),
                  new PodWiring.Addresses(ip4, p.node().gateway4(), ip6, p.node().gateway6()),
                  p.mtu());
      Endpoint e =
          new Endpoint(
              id,
              r.containerId(),
              r.ifname(),
              r.netns(),
              r.namespace(),
              r.pod(),
              wired.hostInterface(),
              wired.ifindex(),
              wired.hostMac(),
              wired.podMac(),
              ip4,
              ip6,
              identity,
              labelStrings);
      // no connection of an earlier endpoint with this id (or these addresses) survives
      undo.push(() -> p.datapath().forgetEndpoint(id));
      p.datapath().resetConnections(id, p.conntrackSize());
      LiveEndpoint live = new LiveEndpoint(e);
      // fail closed until the policy is known
      undo.push(() -> p.datapath().deleteEndpoint(wired.ifindex()));
      p.enforcer().lockdownLocked(live, "no policy received yet");
      p.datapath().attach(wired.ifindex());
      undo.push(() -> p.store().delete(id));
      p.store().save(e);
      undo.push(this::resubscribe);
      undo.push(() -> p.endpoints().removeLocked(id));
      p.endpoints().putLocked(live);
      resubscribe();
      policyOf(identity).ifPresent(pol -> p.enforcer().applyLocked(live, pol, revision()));
      undo.push(() -> p.announcer().withdraw(e));
      p.announcer().announce(e);
      live.announcedIdentity = identity;
      LOG.infof(
          "endpoint %d (%s) added: %s%s identity %d%s",
          id,
          e.displayName(),
          ip4,
          ip6 == null ? "" : " " + ip6,
          identity,
          labels.podFound() ? "" : " (pod not in the store: namespace labels only)");
      return live;
    } catch (RuntimeException ex) {
      while (!undo.isEmpty()) {
        try {
          undo.pop().run();
        } catch (RuntimeException cleanup) {
          LOG.warnf("rolling back ADD of %s: %s", r.containerId(), cleanup.getMessage());
        }
      }
      throw ex;
    }
  }

  // ---- DEL and CHECK

  /** CNI DEL: idempotent; a missing endpoint, interface or namespace is fine. */
  public void del(PodRequest r) {
    p.endpoints()
        .run(
            () -> {
              Optional<LiveEndpoint> live = p.endpoints().byContainer(r.containerId(), r.ifname());
              if (live.isPresent()) {
                Endpoint e = live.get().endpoint();
                forgetLocked(e);
                p.endpoints().removeLocked(e.id());
                resubscribe();
                LOG.infof("endpoint %d (%s) deleted", e.id(), e.displayName());
              } else {
                // nothing recorded: still remove what an interrupted ADD could have left
                p.wiring().delete(r.containerId(), r.ifname());
                releaseAddresses(r.owner());
              }
            });
  }

  /** The problem with an endpoint's wiring or programs, or empty when it is whole. */
  public Optional<String> check(PodRequest r) {
    Optional<LiveEndpoint> live = p.endpoints().byContainer(r.containerId(), r.ifname());
    if (live.isEmpty()) {
      return Optional.of("no endpoint for container " + r.containerId() + " " + r.ifname());
    }
    Endpoint e = live.get().endpoint();
    if (p.wiring().hostIfindex(e.containerId(), e.ifname()).isEmpty()) {
      return Optional.of("host interface " + e.hostInterface() + " is missing");
    }
    Optional<String> pod = p.wiring().checkPod(r.netns(), r.ifname(), e.ipv4());
    if (pod.isPresent()) {
      return pod;
    }
    if (!p.datapath().attached(e.ifindex())) {
      return Optional.of("the Porin programs are not attached to " + e.hostInterface());
    }
    return Optional.empty();
  }

  /**
   * Removes everything an endpoint holds, each step tolerating what is already gone: others stop
   * reaching it first, then its hooks drop everything, then its maps and connections go.
   */
  void forgetLocked(Endpoint e) {
    p.announcer().withdraw(e);
    if (e.ifindex() > 0) {
      p.datapath().deleteEndpoint(e.ifindex());
    }
    try {
      p.datapath().forgetEndpoint(e.id());
    } catch (RuntimeException ex) {
      LOG.warnf("endpoint %d: removing its maps: %s", e.id(), ex.getMessage());
    }
    p.wiring().delete(e.containerId(), e.ifname());
    releaseAddresses(e.containerId() + "/" + e.ifname());
    p.identities().releaseIfUnused(e.identity(), e.id());
    p.store().delete(e.id());
  }

  private void releaseAddresses(String owner) {
    ipv4.release(owner);
    if (ipv6 != null) {
      ipv6.release(owner);
    }
  }

  // ---- labels

  /**
   * A running pod's labels (or its namespace's) changed: it moves to the identity of its new
   * labels. The kernel switches identity and policy together once that identity's policy is known
   * (until then the endpoint keeps enforcing its old one, announced under its old identity);
   * established connections are decided again under the new policy.
   */
  public void relabel(int endpointId, LabelSet labels) {
    p.endpoints()
        .run(
            () -> {
              LiveEndpoint live = p.endpoints().byId(endpointId).orElse(null);
              if (live == null || live.endpoint().labels().equals(labels.strings())) {
                return;
              }
              Endpoint old = live.endpoint();
              int identity = p.identities().allocate(labels.strings());
              Endpoint e = old.withIdentity(identity, labels.strings());
              live.endpoint(e);
              p.store().save(e);
              LOG.infof(
                  "endpoint %d (%s) relabelled: identity %d -> %d",
                  e.id(), e.displayName(), old.identity(), identity);
              if (identity == old.identity()) {
                return;
              }
              resubscribe();
              policyOf(identity)
                  .ifPresentOrElse(
                      pol -> switchIdentityLocked(live, pol, old.identity()),
                      () ->
                          live.state(
                              new EndpointState.WaitingForPolicy(
                                  "relabelled: enforcing identity "
                                      + old.identity()
                                      + "'s policy until identity "
                                      + identity
                                      + "'s arrives")));
            });
  }

  /** Enforces the endpoint's (new) identity's policy, then announces it under that identity. */
  private void switchIdentityLocked(LiveEndpoint live, IdentityPolicy policy, int oldIdentity) {
    p.enforcer().applyLocked(live, policy, revision());
    Endpoint e = live.endpoint();
    p.announcer().announce(e);
    live.announcedIdentity = e.identity();
    p.identities().releaseIfUnused(oldIdentity, -1);
  }

  // ---- policy

  /**
   * A synced policy revision: every endpoint whose identity's policy changed, that waits for its
   * policy, that was restored, or that moved to a new identity gets its identity's policy.
   */
  public void policySynced(long revision, Set<Integer> changed) {
    p.endpoints()
        .run(
            () -> {
              for (LiveEndpoint live : p.endpoints().list()) {
                int identity = live.endpoint().identity();
                boolean moved = live.announcedIdentity != identity;
                if (changed.contains(identity)
                    || live.state() instanceof EndpointState.WaitingForPolicy
                    || live.restored
                    || moved) {
                  Optional<IdentityPolicy> pol = policyOf(identity);
                  if (pol.isPresent() && moved) {
                    switchIdentityLocked(live, pol.get(), live.announcedIdentity);
                    live.policyRevision(revision);
                  } else if (pol.isPresent()) {
                    p.enforcer().applyLocked(live, pol.get(), revision);
                  } else {
                    live.policyRevision(revision);
                  }
                } else {
                  live.policyRevision(revision);
                }
              }
            });
  }

  private Optional<IdentityPolicy> policyOf(int identity) {
    PolicySource source = policies;
    return source == null ? Optional.empty() : source.policy(identity);
  }

  private long revision() {
    PolicySource source = policies;
    return source == null ? 0 : source.revision();
  }

  private void resubscribe() {
    PolicySource source = policies;
    if (source != null) {
      source.setIdentities(p.endpoints().hostedIdentities());
    }
  }
}
