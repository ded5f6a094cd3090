package io.porin.agent.grpc;

import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/**
 * Who may call the agent: the relay and other services, admins and readers (dashboards) read;
 * admins rotate keys. Other nodes' agents do not: a node has no business with another's flows.
 */
public class AgentAccess {
  @Produces
  @Singleton
  AccessRules accessRules() {
    return AccessTable.of(
        Map.of(
            "porin.agent.v1.Agent/RotateKey", AccessRules.ADMINS,
            "porin.agent.v1.Agent/*", AccessRules.NOT_NODES,
            "observer.Observer/*", AccessRules.NOT_NODES));
  }
}
