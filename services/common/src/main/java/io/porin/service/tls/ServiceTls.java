package io.porin.service.tls;

import io.porin.tls.ClusterTls;
import io.porin.tls.TlsException;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * This service's TLS, from {@code porin.tls.*}: its certificate (reloaded when renewed), the
 * cluster CA and the deny list. Without a certificate the service does not start, unless {@code
 * porin.tls.insecure=true} says, loudly, that it runs without.
 */
@Singleton
public class ServiceTls {
  private static final Logger LOG = Logger.getLogger(ServiceTls.class);

  private final ClusterTls cluster;
  private final java.util.List<java.nio.file.Path> clientCas;

  public ServiceTls(TlsConfig config, jakarta.enterprise.inject.Instance<FirstCertificate> own) {
    clientCas = config.clientCas().orElse(java.util.List.of());
    if (config.insecure()) {
      LOG.warn(
          "*** porin.tls.insecure=true: this service accepts PLAINTEXT from ANYONE, treats every"
              + " caller as an admin and talks to its peers without TLS. For development only."
              + " ***");
      cluster = null;
      return;
    }
    if (config.ca().isEmpty() || config.cert().isEmpty()) {
      throw new TlsException(
          "porin.tls.ca and porin.tls.cert are not set: the control plane only speaks mutual TLS"
              + " (porin ca init / porin ca issue make them; porin.tls.insecure=true runs without,"
              + " for development)");
    }
    firstCertificate(config, own);
    cluster =
        ClusterTls.load(
            config.ca().get(), config.cert().get(), config.key().orElse(config.cert().get()));
    LOG.infof(
        "mutual TLS on: this service is %s (certificate valid until %s)",
        cluster.self(), cluster.notAfter());
  }

  /**
   * Gets a first certificate when the bundle is missing or expired and there is a way to get one:
   * the service's own (the identity service issues its own) or joining ({@code porin.tls.join.*}).
   */
  private static void firstCertificate(
      TlsConfig config, jakarta.enterprise.inject.Instance<FirstCertificate> own) {
    java.nio.file.Path bundle = config.cert().get();
    if (!expiredOrMissing(bundle)) {
      return;
    }
    FirstCertificate first;
    if (own.isResolvable()) {
      first = own.get();
    } else if (config.join().address().isPresent()) {
      if (config.key().isPresent() && !config.key().get().equals(bundle)) {
        throw new TlsException(
            "porin.tls.key is set: a joining component keeps its key in the bundle"
                + " (porin.tls.cert) and needs no porin.tls.key");
      }
      first =
          new JoinClient(
              config.join().address().get(),
              config
                  .join()
                  .tokenFile()
                  .orElseThrow(
                      () ->
                          new TlsException(
                              "porin.tls.join.address is set but porin.tls.join.token-file is"
                                  + " not")),
              config.ca().get(),
              config.join().timeout(),
              LOG::info);
    } else {
      return;
    }
    first.obtain(bundle);
  }

  /** True when {@code bundle} does not exist or its certificate has expired. */
  static boolean expiredOrMissing(java.nio.file.Path bundle) {
    if (!java.nio.file.Files.exists(bundle)) {
      return true;
    }
    try {
      var certs = io.porin.tls.Pem.read(bundle).certificates();
      return certs.isEmpty()
          || certs.getFirst().getNotAfter().toInstant().isBefore(java.time.Instant.now());
    } catch (RuntimeException e) {
      return true;
    }
  }

  /** True when running without TLS ({@code porin.tls.insecure=true}). */
  public boolean insecure() {
    return cluster == null;
  }

  /**
   * CAs trusted besides the cluster's for this service's clients ({@code porin.tls.client-cas}).
   */
  public java.util.List<java.nio.file.Path> clientCas() {
    return clientCas;
  }

  /** The service's TLS, empty when insecure. */
  public Optional<ClusterTls> cluster() {
    return Optional.ofNullable(cluster);
  }
}
