package io.porin.identity.join;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.porin.identity.ca.OnlineCa;
import io.porin.identity.config.PorinConfig;
import io.porin.service.tls.ServiceTls;
import io.porin.service.tls.TlsConfig;
import io.quarkus.runtime.Startup;
import io.vertx.core.Vertx;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/** The join port when {@code porin.ca.join.port} asks for one (Kubernetes). */
@Singleton
@Startup
public class JoinPort {
  private static final Logger LOG = Logger.getLogger(JoinPort.class);

  /** Longer than a certificate lives: a pod's join is remembered while it could matter. */
  static final java.time.Duration JOIN_RECORD_TTL = java.time.Duration.ofHours(48);

  private final JoinServer server;
  private final EtcdAdmissions admissions;

  JoinPort(
      PorinConfig config,
      TlsConfig tlsConfig,
      ServiceTls tls,
      OnlineCa ca,
      Vertx vertx,
      Instance<KubernetesClient> kubernetes,
      io.porin.service.tls.RevocationWatch revocations,
      io.porin.kvstore.KvStore kv)
      throws Exception {
    PorinConfig.Join join = config.ca().join();
    if (join.port() == 0) {
      server = null;
      admissions = null;
      return;
    }
    if (tls.cluster().isEmpty() || !ca.online()) {
      throw new IllegalArgumentException(
          "porin.ca.join.port: joining needs mutual TLS and the CA key (porin.ca.dir)");
    }
    String namespace =
        join.namespace()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "porin.ca.join.namespace: required with porin.ca.join.port (Porin's"
                            + " namespace; only its service accounts join)"));
    admissions =
        join.admitToEtcd()
            ? EtcdAdmissions.start(
                    io.porin.tls.CertificateAuthority.load(config.ca().dir().orElseThrow()),
                    tlsConfig.ca().orElseThrow(),
                    config.etcd().endpoints(),
                    config.etcd().timeout())
                .follow(revocations)
            : null;
    server =
        new JoinServer(
                vertx,
                new KubernetesJoinVerifier(kubernetes.get(), namespace, join.audience()),
                ca,
                tls.cluster().get(),
                revocations,
                revocations::ready,
                new JoinRecords(kv, JOIN_RECORD_TTL),
                id -> {
                  if (admissions != null) {
                    admissions.admit(id);
                  }
                })
            .start(join.host(), join.port());
    LOG.infof(
        "components of namespace %s join with tokens for audience %s", namespace, join.audience());
  }

  /** The port listened on, 0 when none. */
  public int port() {
    return server == null ? 0 : server.port();
  }

  @PreDestroy
  void close() {
    if (server != null) {
      server.close();
    }
    if (admissions != null) {
      admissions.close();
    }
  }
}
