package io.porin.agent.grpc;

import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/** Who may call the agent: everyone of the cluster reads (the relay, dashboards); admins rotate. */
public class AgentAccess {
  @Produces
  @Singleton
  AccessRules accessRules() {
    return AccessTable.of(
        Map.of(
            "porin.agent.v1.Agent/RotateKey", AccessRules.ADMINS,
            "porin.agent.v1.Agent/*", AccessRules.ANYONE,
            "observer.Observer/*", AccessRules.ANYONE));
  }
}
