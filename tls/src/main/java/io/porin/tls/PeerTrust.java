package io.porin.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Decides at the handshake whether a peer's certificate is one of the cluster's: it chains to the
 * cluster CA, is within its validity, names a Porin identity this side accepts, and that identity
 * was not revoked after the certificate was issued. Anything else fails the handshake, with a log
 * line naming the peer.
 *
 * <p>Porin's clients check the server's identity ({@code svc/policy}, {@code node/<name>}), not its
 * host name: the identity is what the CA vouches for, addresses move.
 */
public final class PeerTrust extends X509ExtendedTrustManager {
  private static final System.Logger LOG = System.getLogger(PeerTrust.class.getName());

  private final Set<TrustAnchor> anchors;
  private final X509Certificate[] issuers;
  private final Predicate<PeerIdentity> accept;
  private final String expectation;
  private final Revocations revocations;
  private final Clock clock;
  private final String side;

  /**
   * @param ca the CA certificates to trust
   * @param accept which identities may connect (server side) or be connected to (client side)
   * @param expectation what {@code accept} accepts, in words, for the refusal's message
   * @param side "client" when this trusts clients (a server), "server" when it trusts servers
   */
  public PeerTrust(
      List<X509Certificate> ca,
      Predicate<PeerIdentity> accept,
      String expectation,
      Revocations revocations,
      Clock clock,
      String side) {
    if (ca.isEmpty()) {
      throw new TlsException("no CA certificate to trust");
    }
    this.anchors = ca.stream().map(c -> new TrustAnchor(c, null)).collect(Collectors.toSet());
    this.issuers = ca.toArray(X509Certificate[]::new);
    this.accept = accept;
    this.expectation = expectation;
    this.revocations = revocations;
    this.clock = clock;
    this.side = side;
  }

  /**
   * Checks a peer's chain; returns the identity it proves.
   *
   * @throws CertificateException naming the peer and the reason
   */
  public PeerIdentity verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw refuse("a " + side + " without a certificate", "no certificate was presented");
    }
    X509Certificate leaf = chain[0];
    String who = describe(leaf);
    Date now = Date.from(clock.instant());
    try {
      leaf.checkValidity(now);
    } catch (CertificateException e) {
      throw refuse(
          who,
          "its certificate is valid from "
              + leaf.getNotBefore().toInstant()
              + " to "
              + leaf.getNotAfter().toInstant()
              + ", not now");
    }
    try {
      var path = CertificateFactory.getInstance("X.509").generateCertPath(Arrays.asList(chain));
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false); // Porin's deny list is checked below
      params.setDate(now);
      CertPathValidator.getInstance("PKIX").validate(path, params);
    } catch (GeneralSecurityException e) {
      throw refuse(
          who, "its certificate is not signed by this cluster's CA (" + e.getMessage() + ")");
    }
    PeerIdentity id =
        PeerIdentity.of(leaf)
            .orElseThrow(() -> refuse(who, "its certificate names no Porin identity"));
    if (!accept.test(id)) {
      throw refuse(who, "only " + expectation + " may connect here");
    }
    if (revocations.isRevoked(id, leaf)) {
      throw refuse(
          who,
          "its certificate was revoked at "
              + revocations.revokedAt(id).orElseThrow()
              + " (porin ca revoke)");
    }
    return id;
  }

  private CertificateException refuse(String who, String why) {
    String message = "refused " + who + ": " + why;
    LOG.log(System.Logger.Level.WARNING, "TLS handshake " + message);
    return new CertificateException(message);
  }

  /** The peer for a log line: its identity when it names one, else its subject. */
  public static String describe(X509Certificate leaf) {
    return PeerIdentity.of(leaf)
        .map(
            id ->
                "the certificate of "
                    + id
                    + " (serial "
                    + leaf.getSerialNumber().toString(16)
                    + ")")
        .orElse(
            "the certificate \""
                + leaf.getSubjectX500Principal().getName()
                + "\" (serial "
                + leaf.getSerialNumber().toString(16)
                + ")");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    verify(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return issuers.clone();
  }
}
