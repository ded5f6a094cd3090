package io.porin.service.tls;

import io.porin.tls.PeerIdentity;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Signs renewals here (the identity service, which holds the CA key, renews its own certificate
 * so); everyone else asks the identity service.
 */
public interface LocalSigner {
  /** A new chain (leaf, CA) for {@code self} over {@code key}, with {@code current}'s addresses. */
  List<X509Certificate> sign(PeerIdentity self, X509Certificate current, PublicKey key);
}
