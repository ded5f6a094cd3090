package io.porin.service.tls;

import io.porin.tls.PeerIdentity;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A service's access rules as a table: {@code package.Service/Method} or {@code package.Service/*}
 * to the kinds of certificate that may call it. gRPC's health service is open to every identity of
 * the cluster; anything not in the table is refused.
 */
public final class AccessTable implements AccessRules {
  private final Map<String, Set<PeerIdentity.Kind>> rules;

  private AccessTable(Map<String, Set<PeerIdentity.Kind>> rules) {
    this.rules = Map.copyOf(rules);
  }

  /** A table from {@code method or service/*} to kinds. */
  public static AccessTable of(Map<String, Set<PeerIdentity.Kind>> rules) {
    Map<String, Set<PeerIdentity.Kind>> all = new LinkedHashMap<>(rules);
    all.putIfAbsent("grpc.health.v1.Health/*", ANYONE);
    return new AccessTable(all);
  }

  @Override
  public Set<PeerIdentity.Kind> allowed(String fullMethodName) {
    Set<PeerIdentity.Kind> exact = rules.get(fullMethodName);
    if (exact != null) {
      return exact;
    }
    int slash = fullMethodName.indexOf('/');
    if (slash > 0) {
      Set<PeerIdentity.Kind> service = rules.get(fullMethodName.substring(0, slash) + "/*");
      if (service != null) {
        return service;
      }
    }
    return Set.of();
  }
}
