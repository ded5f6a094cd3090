package io.porin.agent.endpoint;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.datapath.EndpointConfig;
import java.io.IOException;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Takes back the endpoints of the previous run (cilium {@code pkg/endpoint/restore.go}): programs
 * re-attached (an atomic swap: traffic keeps flowing), the maps as they were (the datapath keeps
 * enforcing the last known policy until the stream syncs), addresses and announcement restored.
 * Endpoints whose interface vanished are cleaned up.
 */
public final class EndpointRestore {
  private static final Logger LOG = Logger.getLogger(EndpointRestore.class);

  private final EndpointLifecycle.Parts p;
  private final EndpointLifecycle lifecycle;
  private final Revisions revisions;

  public EndpointRestore(
      EndpointLifecycle.Parts parts, EndpointLifecycle lifecycle, Revisions revisions) {
    this.p = parts;
    this.lifecycle = lifecycle;
    this.revisions = revisions;
  }

  /** Restores every saved endpoint; returns how many were taken back. */
  public int restore() throws IOException {
    int restored = 0;
    for (Endpoint saved : p.store().load()) {
      boolean back =
          p.endpoints()
              .call(
                  () -> {
                    Optional<Integer> ifindex =
                        p.wiring().hostIfindex(saved.containerId(), saved.ifname());
                    if (ifindex.isEmpty()) {
                      LOG.infof(
                          "endpoint %d (%s): interface gone, cleaning up",
                          saved.id(), saved.displayName());
                      lifecycle.forgetLocked(saved);
                      return false;
                    }
                    takeBackLocked(saved.withIfindex(ifindex.get()));
                    return true;
                  });
      if (back) {
        restored++;
      }
    }
    if (restored > 0) {
      // identities may have been collected while the agent was away: take references again
      p.identities().refreshSoon();
    }
    return restored;
  }

  private void takeBackLocked(Endpoint e) {
    Datapath dp = p.datapath();
    LiveEndpoint live = new LiveEndpoint(e);
    Optional<EndpointConfig> cfg = dp.endpoint(e.ifindex());
    if (cfg.isPresent() && cfg.get().endpointId() == e.id() && dp.hasConnections(e.id())) {
      EndpointConfig c = cfg.get();
      revisions.observe(c.policyRevision());
      live.config = c;
      live.enforcement(
          dp.readPolicy(e.id(), c.policySlot()).size(),
          (c.flags() & MapLayouts.EP_ENFORCE_INGRESS) != 0,
          (c.flags() & MapLayouts.EP_ENFORCE_EGRESS) != 0);
      live.state(
          new EndpointState.WaitingForPolicy(
              "restored: enforcing the previous run's policy until the stream syncs"));
      live.restored = true;
    } else {
      dp.resetConnections(e.id(), p.conntrackSize());
      p.enforcer().lockdownLocked(live, "restored without datapath state: no policy received yet");
    }
    dp.attach(e.ifindex());
    p.endpoints().putLocked(live);
    p.store().save(e);
    p.announcer().announce(e);
    live.announcedIdentity = e.identity();
    LOG.infof("endpoint %d (%s) restored", e.id(), e.displayName());
  }
}
