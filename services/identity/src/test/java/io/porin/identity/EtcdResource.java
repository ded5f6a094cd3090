package io.porin.identity;

import io.porin.kvstore.testing.EtcdProcess;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** A real etcd for the service under test, and a free port for the service itself. */
public class EtcdResource implements QuarkusTestResourceLifecycleManager {
  /** The etcd the running service uses (tests stop and start it). */
  public static volatile EtcdProcess etcd;

  /** The service's HTTP and gRPC port. */
  public static volatile int port;

  @Override
  public Map<String, String> start() {
    etcd = EtcdProcess.start("identity-service");
    port = EtcdProcess.freePort();
    return Map.of(
        "porin.etcd.endpoints", etcd.endpoint(),
        "porin.etcd.timeout", "2s",
        "porin.identity.owner-ttl", "3s",
        "porin.identity.gc-interval", "500ms",
        "porin.identity.gc-grace-period", "1s",
        "quarkus.http.port", Integer.toString(port),
        "quarkus.http.test-port", Integer.toString(port));
  }

  @Override
  public void stop() {
    if (etcd != null) {
      etcd.close();
    }
  }
}
