package io.porin.policy.health;

import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.policy.compile.PolicyEngine;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when etcd answers and the engine has read all identities and resources once. */
@Readiness
@ApplicationScoped
public class EngineReadiness implements HealthCheck {
  private final KvStore kv;
  private final PolicyEngine engine;

  EngineReadiness(KvStore kv, PolicyEngine engine) {
    this.kv = kv;
    this.engine = engine;
  }

  @Override
  public HealthCheckResponse call() {
    var r = HealthCheckResponse.named("policy");
    PolicyEngine.State s = engine.state();
    r.withData("source", engine.sourceName())
        .withData("synced", s.synced())
        .withData("revision", s.revision());
    try {
      r.withData("etcdRevision", kv.revision());
    } catch (KvStoreException e) {
      return r.down().withData("error", e.getMessage()).build();
    }
    return s.synced() ? r.up().build() : r.down().build();
  }
}
