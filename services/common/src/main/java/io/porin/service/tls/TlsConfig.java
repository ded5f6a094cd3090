package io.porin.service.tls;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.Optional;

/** How a service proves who it is and whom it trusts ({@code porin.tls.*}). */
@ConfigMapping(prefix = "porin.tls")
public interface TlsConfig {
  /** The cluster CA certificate (PEM) that every peer's certificate must chain to. */
  Optional<Path> ca();

  /** This component's certificate (PEM; a Porin bundle holds the key too). */
  Optional<Path> cert();

  /**
   * CA certificates trusted, besides this cluster's, for the clients of this service's own port
   * only, never for its own connections (the clustermesh service: its peers' CAs).
   */
  Optional<java.util.List<Path>> clientCas();

  /** This component's private key (PEM, mode 0600); defaults to {@code cert} (a bundle). */
  Optional<Path> key();

  /**
   * Development only: no TLS on this component's port and plaintext to its peers, every caller
   * treated as an admin. Logged loudly, shown by {@code porin status}.
   */
  @WithDefault("false")
  boolean insecure();

  /**
   * Where to ask for a renewed certificate ({@code host:port} of the identity service); empty: this
   * component does not renew by itself (the identity service signs its own).
   */
  Optional<String> renewFrom();

  /** How this component gets its first certificate when it has none (a pod's first start). */
  Join join();

  /** Joining: a first certificate from the identity service's join port, for a token. */
  interface Join {
    /**
     * The identity service's join port, {@code host:port}; empty: no joining (the certificate is
     * given, as in a lab).
     */
    Optional<String> address();

    /** The file holding the token that proves who this component is (a projected token). */
    Optional<Path> tokenFile();

    /** How long joining may take (the identity service may not be up yet) before start-up fails. */
    @WithDefault("5m")
    java.time.Duration timeout();
  }
}
