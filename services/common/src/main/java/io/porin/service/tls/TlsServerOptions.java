package io.porin.service.tls;

import io.porin.tls.ClusterTls;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Set;

/**
 * Turns the service's one port (gRPC, health, metrics) into TLS 1.3 with a client certificate
 * required: a peer without a certificate of the cluster CA gets a failed handshake and nothing
 * else. Done here at run time (Quarkus's own client-auth setting is fixed at build time, and {@code
 * porin.tls.insecure} must stay a run-time choice). The key manager reloads renewed certificates,
 * so new connections get them while open ones carry on.
 */
@ApplicationScoped
public class TlsServerOptions implements HttpServerOptionsCustomizer {
  private final ServiceTls tls;

  public TlsServerOptions(ServiceTls tls) {
    this.tls = tls;
  }

  @Override
  public void customizeHttpServer(HttpServerOptions options) {
    tls.cluster()
        .ifPresent(
            c ->
                options
                    .setSsl(true)
                    .setUseAlpn(true)
                    .setEnabledSecureTransportProtocols(Set.of(ClusterTls.PROTOCOL))
                    .setKeyCertOptions(KeyCertOptions.wrap(c.keyManager()))
                    .setTrustOptions(
                        TrustOptions.wrap(
                            c.clientTrust(ClusterTls.anyone(), "certificates of this cluster")))
                    .setClientAuth(ClientAuth.REQUIRED));
  }
}
