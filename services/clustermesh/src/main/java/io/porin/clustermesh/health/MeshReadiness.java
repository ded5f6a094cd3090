package io.porin.clustermesh.health;

import io.porin.clustermesh.imports.PeerImporter;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready when this cluster's etcd answers; each peer's import state is reported (a peer away does
 * not make this cluster unready: its last imported state stays in use).
 */
@Readiness
@ApplicationScoped
public class MeshReadiness implements HealthCheck {
  private final KvStore kv;
  private final List<PeerImporter> importers;

  MeshReadiness(KvStore kv, List<PeerImporter> importers) {
    this.kv = kv;
    this.importers = importers;
  }

  @Override
  public HealthCheckResponse call() {
    var r = HealthCheckResponse.named("clustermesh");
    for (PeerImporter p : importers) {
      r.withData("peer " + p.peer(), p.problem().orElse("synced at revision " + p.revision()));
    }
    try {
      return r.up().withData("revision", kv.revision()).build();
    } catch (KvStoreException e) {
      return r.down().withData("error", e.getMessage()).build();
    }
  }
}
