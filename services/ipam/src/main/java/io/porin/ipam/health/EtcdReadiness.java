package io.porin.ipam.health;

import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when etcd answers. */
@Readiness
@ApplicationScoped
public class EtcdReadiness implements HealthCheck {
  private final KvStore kv;

  EtcdReadiness(KvStore kv) {
    this.kv = kv;
  }

  @Override
  public HealthCheckResponse call() {
    var r = HealthCheckResponse.named("etcd");
    try {
      return r.up().withData("revision", kv.revision()).build();
    } catch (KvStoreException e) {
      return r.down().withData("error", e.getMessage()).build();
    }
  }
}
