package io.porin.service.testing;

import io.porin.kvstore.testing.EtcdProcess;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.HashMap;
import java.util.Map;

/**
 * A real etcd for a packaged service under test, and a free port for the service. Subclasses add
 * their service's settings with {@link #settings()}.
 */
public abstract class EtcdTestResource implements QuarkusTestResourceLifecycleManager {
  /** The etcd the running service uses (tests stop and start it). */
  public static volatile EtcdProcess etcd;

  /** The service's HTTP and gRPC port. */
  public static volatile int port;

  /** The service's own settings for the test. */
  protected abstract Map<String, String> settings();

  @Override
  public Map<String, String> start() {
    etcd = EtcdProcess.start(getClass().getSimpleName());
    port = EtcdProcess.freePort();
    Map<String, String> config = new HashMap<>(settings());
    config.put("porin.etcd.endpoints", etcd.endpoint());
    config.put("porin.etcd.timeout", "2s");
    config.put("quarkus.http.port", Integer.toString(port));
    config.put("quarkus.http.test-port", Integer.toString(port));
    return config;
  }

  @Override
  public void stop() {
    if (etcd != null) {
      etcd.close();
    }
  }
}
