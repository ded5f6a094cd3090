package io.porin.ipam;

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
    etcd = EtcdProcess.start("ipam-service");
    port = EtcdProcess.freePort();
    return Map.of(
        "porin.etcd.endpoints", etcd.endpoint(),
        "porin.etcd.timeout", "2s",
        "porin.ipam.cluster-pool-ipv4-pod-cidr-list", "10.10.0.0/23,10.20.0.0/24",
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
