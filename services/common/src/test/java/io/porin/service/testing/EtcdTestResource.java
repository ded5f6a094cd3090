package io.porin.service.testing;

import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.porin.tls.PeerIdentity;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real etcd for a packaged service under test, and a free port for the service. Both speak mutual
 * TLS only, as in a cluster: etcd with client certificates and access control (the service is its
 * own etcd user, nodes {@code n1} and {@code n2} are admitted, the test's admin is root), the
 * service with its certificate of the run's test CA. Subclasses name their service and add its
 * settings.
 */
public abstract class EtcdTestResource implements QuarkusTestResourceLifecycleManager {
  /** The etcd the running service uses (tests stop and start it). */
  public static volatile EtcdProcess etcd;

  /** The service's HTTP and gRPC port. */
  public static volatile int port;

  /** The service's probe port (plain HTTP, health only). */
  public static volatile int probePort;

  /** The service's own settings for the test. */
  protected abstract Map<String, String> settings();

  /** The service's name: its certificate is {@code svc/<name>}. */
  protected abstract String service();

  /** The run's cluster CA, shared by the service, etcd and the test's clients. */
  public static TestPki pki() {
    return TestPki.cluster();
  }

  @Override
  public Map<String, String> start() {
    PeerIdentity self = PeerIdentity.service(service());
    etcd =
        EtcdProcess.startSecure(
            getClass().getSimpleName(),
            pki(),
            List.of(self, PeerIdentity.node("n1"), PeerIdentity.node("n2")));
    port = EtcdProcess.freePort();
    Map<String, String> config = new HashMap<>(settings());
    config.put("porin.etcd.endpoints", etcd.endpoint());
    config.put("porin.etcd.timeout", "2s");
    config.put("quarkus.http.port", Integer.toString(port));
    config.put("quarkus.http.test-port", Integer.toString(port));
    probePort = EtcdProcess.freePort();
    config.put("porin.probe.port", Integer.toString(probePort));
    config.putAll(pki().settingsFor(self));
    return config;
  }

  @Override
  public void stop() {
    if (etcd != null) {
      etcd.close();
    }
  }
}
