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
 *
 * <p>No TLS session is resumed: a resumed session carries the certificate of the handshake it
 * resumes, so a client that renewed its certificate would still be seen with the old one (and cut
 * off when that one expires). Every connection is a full handshake with the certificate the client
 * holds now; connections are few and long-lived, so this costs nothing that matters.
 */
@ApplicationScoped
public class TlsServerOptions implements HttpServerOptionsCustomizer {
  /**
   * Every certificate of the cluster but etcd's: etcd's is long-lived and sits on etcd's nodes, and
   * etcd never calls a service, so it is no way in.
   */
  static final java.util.function.Predicate<io.porin.tls.PeerIdentity> NOT_ETCD =
      id -> !id.equals(io.porin.kvstore.KvStore.ETCD_IDENTITY);

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
                            tls.clientCas().isEmpty()
                                ? c.clientTrust(NOT_ETCD, "certificates of this cluster but etcd's")
                                : c.clientTrustAlso(
                                    tls.clientCas(),
                                    NOT_ETCD,
                                    "certificates of this cluster or of its peers, but etcd's")))
                    .setClientAuth(ClientAuth.REQUIRED)
                    .setSslEngineOptions(new FreshHandshakes()));
  }

  /**
   * The JDK's TLS engine, told to issue no session tickets: a TLS 1.3 server sends none when its
   * session lifetime is above the protocol's seven-day maximum, and without a ticket there is
   * nothing to resume.
   */
  static final class FreshHandshakes extends io.vertx.core.net.JdkSSLEngineOptions {
    /** Above TLS 1.3's maximum ticket lifetime (RFC 8446, 4.6.1: seven days). */
    static final int NO_TICKETS_SECONDS = 7 * 24 * 3600 + 1;

    FreshHandshakes() {}

    FreshHandshakes(FreshHandshakes other) {
      super(other);
    }

    @Override
    public FreshHandshakes copy() {
      return new FreshHandshakes(this);
    }

    @Override
    public io.vertx.core.spi.tls.SslContextFactory sslContextFactory() {
      io.vertx.core.spi.tls.SslContextFactory jdk = super.sslContextFactory();
      return new io.vertx.core.spi.tls.SslContextFactory() {
        private boolean client;

        @Override
        public io.vertx.core.spi.tls.SslContextFactory useAlpn(boolean useAlpn) {
          jdk.useAlpn(useAlpn);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory clientAuth(
            io.netty.handler.ssl.ClientAuth clientAuth) {
          jdk.clientAuth(clientAuth);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory forClient(boolean forClient) {
          client = forClient;
          jdk.forClient(forClient);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory keyMananagerFactory(
            javax.net.ssl.KeyManagerFactory kmf) {
          jdk.keyMananagerFactory(kmf);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory trustManagerFactory(
            javax.net.ssl.TrustManagerFactory tmf) {
          jdk.trustManagerFactory(tmf);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory enabledCipherSuites(Set<String> suites) {
          jdk.enabledCipherSuites(suites);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory applicationProtocols(
            java.util.List<String> protocols) {
          jdk.applicationProtocols(protocols);
          return this;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory serverName(String name) {
          jdk.serverName(name);
          return this;
        }

        @Override
        public io.netty.handler.ssl.SslContext create() throws javax.net.ssl.SSLException {
          io.netty.handler.ssl.SslContext ctx = jdk.create();
          if (!client) {
            ctx.sessionContext().setSessionTimeout(NO_TICKETS_SECONDS);
          }
          return ctx;
        }
      };
    }
  }
}
