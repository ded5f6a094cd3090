package io.porin.identity.ca;

import io.grpc.Status;
import io.porin.service.tls.LocalSigner;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.PeerIdentity;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The cluster CA's online part in the identity service: it signs renewals for the identity a
 * caller's current certificate proves (never another), with that certificate's addresses, and the
 * service's own renewals. Without the CA key, renewals are refused with FAILED_PRECONDITION.
 */
public final class OnlineCa implements LocalSigner {
  private final Optional<CertificateAuthority> ca;
  private final Duration validity;

  public OnlineCa(Optional<CertificateAuthority> ca, Duration validity) {
    this.ca = ca;
    this.validity = validity;
  }

  /** True when this service holds the CA key. */
  public boolean online() {
    return ca.isPresent();
  }

  /** A chain (leaf, CA) for {@code self} over the DER public key {@code publicKey}. */
  public List<X509Certificate> renew(PeerIdentity self, X509Certificate current, byte[] publicKey) {
    try {
      current.checkValidity();
    } catch (java.security.cert.CertificateException e) {
      throw Status.PERMISSION_DENIED
          .withDescription("the certificate of " + self + " has expired: no renewal")
          .asRuntimeException();
    }
    PublicKey key;
    try {
      key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(publicKey));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "public_key: not a DER EC public key (" + e.getMessage() + ")");
    }
    if (!(key instanceof ECPublicKey ec)
        || ec.getParams().getCurve().getField().getFieldSize() != 256) {
      throw new IllegalArgumentException("public_key: must be EC P-256");
    }
    return sign(self, current, key);
  }

  @Override
  public List<X509Certificate> sign(PeerIdentity self, X509Certificate current, PublicKey key) {
    return List.of(
        authority().sign(self, key, addresses(current), validity), authority().certificate());
  }

  /** A first certificate for {@code id} (a join): its identity only, no addresses. */
  public List<X509Certificate> issue(PeerIdentity id, PublicKey key) {
    return List.of(authority().sign(id, key, List.of(), validity), authority().certificate());
  }

  private CertificateAuthority authority() {
    return ca.orElseThrow(
        () ->
            Status.FAILED_PRECONDITION
                .withDescription(
                    "this identity service holds no CA key (porin.ca.dir): certificates are"
                        + " renewed from outside")
                .asRuntimeException());
  }

  /** The IP and DNS names of a certificate (its URI, the identity, is written anew). */
  static List<String> addresses(X509Certificate cert) {
    List<String> out = new ArrayList<>();
    try {
      var sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return out;
      }
      for (List<?> san : sans) {
        int type = (Integer) san.get(0);
        if (type == 2) {
          out.add((String) san.get(1));
        } else if (type == 7) {
          out.add(InetAddress.ofLiteral((String) san.get(1)).getHostAddress());
        }
      }
    } catch (CertificateParsingException | IllegalArgumentException e) {
      // a certificate the handshake accepted parses; nothing to copy otherwise
    }
    return out;
  }
}
