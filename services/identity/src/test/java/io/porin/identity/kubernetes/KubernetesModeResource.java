package io.porin.identity.kubernetes;

import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The identity service as the Kubernetes manifests run it: the CA key given, no certificate of its
 * own yet (it issues one), a fresh etcd with access control still off (it turns it on), its join
 * port, its collector's Lease, and its probe port. The API server is the fabric8 mock server (CRUD
 * mode), which {@code @WithKubernetesTestServer} points the service at.
 */
public class KubernetesModeResource implements QuarkusTestResourceLifecycleManager {
  public static volatile EtcdProcess etcd;
  public static volatile TestPki pki;
  public static volatile int port;
  public static volatile int joinPort;
  public static volatile int probePort;
  public static volatile Path bundle;

  @Override
  public Map<String, String> start() {
    pki = TestPki.named("kubernetes-mode");
    etcd = EtcdProcess.startTls("kubernetes-mode", pki);
    port = EtcdProcess.freePort();
    joinPort = EtcdProcess.freePort();
    probePort = EtcdProcess.freePort();
    try {
      bundle =
          Files.createTempDirectory(Path.of("target"), "k8s-mode-")
              .toAbsolutePath()
              .resolve("bundle.pem");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Map<String, String> c = new HashMap<>();
    c.put("porin.etcd.endpoints", etcd.endpoint());
    c.put("porin.etcd.timeout", "2s");
    c.put("quarkus.http.port", Integer.toString(port));
    c.put("quarkus.http.test-port", Integer.toString(port));
    c.put("porin.tls.ca", pki.caFile().toString());
    c.put("porin.tls.cert", bundle.toString());
    c.put("porin.ca.dir", pki.caFile().getParent().toString());
    c.put("porin.ca.join.port", Integer.toString(joinPort));
    c.put("porin.ca.join.host", "127.0.0.1");
    c.put("porin.ca.join.namespace", "porin-system");
    c.put("porin.identity.gc-lease", "porin-system/porin-identity-gc");
    c.put("porin.identity.gc-interval", "500ms");
    c.put("porin.probe.port", Integer.toString(probePort));
    return c;
  }

  @Override
  public void stop() {
    if (etcd != null) {
      etcd.close();
    }
  }
}
