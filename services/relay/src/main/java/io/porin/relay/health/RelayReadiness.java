package io.porin.relay.health;

import io.porin.relay.peers.Peers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the relay knows the nodes (from etcd or configuration). */
@Readiness
@ApplicationScoped
public class RelayReadiness implements HealthCheck {
  @Inject Peers peers;

  @Override
  public HealthCheckResponse call() {
    var r = HealthCheckResponse.named("relay").withData("nodes", peers.all().size());
    return peers.synced() ? r.up().build() : r.down().build();
  }
}
