package io.porin.tls;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Optional;

/**
 * The cluster's deny list: an identity revoked at an instant loses every certificate issued to it
 * before that instant (a certificate issued afterwards, to a re-admitted node, is valid again).
 */
@FunctionalInterface
public interface Revocations {
  /** No certificate is revoked. */
  Revocations NONE = id -> Optional.empty();

  /** When {@code id} was revoked, if it was. */
  Optional<Instant> revokedAt(PeerIdentity id);

  /** Whether {@code cert}, held by {@code id}, was issued before {@code id} was revoked. */
  default boolean isRevoked(PeerIdentity id, X509Certificate cert) {
    return revokedAt(id).map(at -> !issuedAt(cert).isAfter(at)).orElse(false);
  }

  /**
   * When a certificate was issued: the CA backdates {@code notBefore} by a minute, so the issue
   * time is taken as {@code notBefore} plus that minute.
   */
  static Instant issuedAt(X509Certificate cert) {
    return cert.getNotBefore().toInstant().plusSeconds(60);
  }
}
