package io.porin.identity.health;

import io.porin.identity.allocate.IdentityAllocator;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when etcd answers and the identity cache has its snapshot. */
@Readiness
@ApplicationScoped
public class EtcdReadiness implements HealthCheck {
  private final KvStore kv;
  private final IdentityAllocator allocator;

  EtcdReadiness(KvStore kv, IdentityAllocator allocator) {
    this.kv = kv;
    this.allocator = allocator;
  }

  @Override
  public HealthCheckResponse call() {
    var r = HealthCheckResponse.named("etcd");
    try {
      long revision = kv.revision();
      r.withData("revision", revision).withData("identityCacheSynced", allocator.isSynced());
      return allocator.isSynced() ? r.up().build() : r.down().build();
    } catch (KvStoreException e) {
      return r.down().withData("error", e.getMessage()).build();
    }
  }
}
