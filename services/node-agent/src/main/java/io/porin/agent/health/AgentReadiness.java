package io.porin.agent.health;

import io.porin.agent.Agent;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the datapath is loaded, endpoints restored and CNI served. A control-plane outage
 * keeps it ready (the datapath enforces the last known state) but says why it is degraded.
 */
@Readiness
@ApplicationScoped
public class AgentReadiness implements HealthCheck {
  private final Agent agent;

  public AgentReadiness(Agent agent) {
    this.agent = agent;
  }

  @Override
  public HealthCheckResponse call() {
    var b = HealthCheckResponse.named("porin-agent").withData("node", String.valueOf(agent.node()));
    if (!agent.started()) {
      return b.down().withData("problem", agent.problem().orElse("starting")).build();
    }
    agent.problem().ifPresent(p -> b.withData("degraded", p));
    return b.up().build();
  }
}
