package io.porin.service.tls;

import java.nio.file.Path;

/**
 * Gets a component its first certificate when its bundle file is missing or expired (a pod's first
 * start in Kubernetes): joining (a {@link JoinClient}), or, for the identity service, which holds
 * the CA key, issuing its own.
 */
public interface FirstCertificate {
  /** Writes a bundle (certificate chain and key) to {@code bundle}; throws when it cannot. */
  void obtain(Path bundle);
}
