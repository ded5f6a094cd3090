package io.porin.tls;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * One component's TLS: its certificate and key (reloaded when the files change), the cluster CA it
 * trusts and the deny list it honours. Servers and clients of the control plane take their key and
 * trust managers from here; every connection is TLS 1.3 with certificates on both sides.
 */
public final class ClusterTls {
  /** The only protocol Porin speaks. */
  public static final String PROTOCOL = "TLSv1.3";

  private final ReloadingKeyManager keys;
  private final List<X509Certificate> ca;
  private final Clock clock;
  private volatile Revocations revocations = Revocations.NONE;

  private ClusterTls(ReloadingKeyManager keys, List<X509Certificate> ca, Clock clock) {
    this.keys = keys;
    this.ca = ca;
    this.clock = clock;
  }

  /**
   * Loads a component's TLS.
   *
   * @param caFile the cluster CA certificate
   * @param certFile this component's certificate (a Porin bundle holds the key too)
   * @param keyFile its key: the same file for a bundle
   */
  public static ClusterTls load(Path caFile, Path certFile, Path keyFile) {
    List<X509Certificate> ca = Pem.read(caFile).certificates();
    if (ca.isEmpty()) {
      throw new TlsException(caFile + " holds no CA certificate");
    }
    Clock clock = Clock.systemUTC();
    return new ClusterTls(new ReloadingKeyManager(certFile, keyFile, clock), ca, clock);
  }

  /**
   * The same certificate and key (renewals included), trusting only the CA certificates in {@code
   * caFile}: for a client that must reach one peer cluster and nobody else.
   */
  public ClusterTls trusting(Path caFile) {
    List<X509Certificate> other = Pem.read(caFile).certificates();
    if (other.isEmpty()) {
      throw new TlsException(caFile + " holds no CA certificate");
    }
    return new ClusterTls(keys, other, clock);
  }

  /**
   * A trust for this component's own server port that also accepts clients with certificates of the
   * CAs in {@code caFiles} (the clustermesh service: its peers' clustermesh services), honouring
   * this component's deny list; this component's own connections keep trusting its cluster's CA
   * only.
   */
  public PeerTrust clientTrustAlso(
      List<Path> caFiles, Predicate<PeerIdentity> accept, String expectation) {
    List<X509Certificate> all = new java.util.ArrayList<>(ca);
    for (Path f : caFiles) {
      List<X509Certificate> more = Pem.read(f).certificates();
      if (more.isEmpty()) {
        throw new TlsException(f + " holds no CA certificate");
      }
      all.addAll(more);
    }
    return new PeerTrust(
        List.copyOf(all), accept, expectation, id -> revocations.revokedAt(id), clock, "client");
  }

  /** Honours {@code r} from now on (the cluster's deny list, once it is read from etcd). */
  public void useRevocations(Revocations r) {
    this.revocations = r;
  }

  /** The deny list honoured. */
  public Revocations revocations() {
    return revocations;
  }

  /** This component's certificate and key, reloaded when the files change. */
  public X509ExtendedKeyManager keyManager() {
    return keys;
  }

  /** The reloading key manager itself (for renewal and status). */
  public ReloadingKeyManager keys() {
    return keys;
  }

  /**
   * Runs {@code r} after each renewed certificate is taken, so that clients can move their
   * connections onto it (the returned handle stops that).
   */
  public AutoCloseable onRenewed(Runnable r) {
    return keys.onNewCertificate(c -> r.run());
  }

  /** Who this component is. */
  public PeerIdentity self() {
    return keys.current().identity();
  }

  /** When this component's certificate expires. */
  public Instant notAfter() {
    return keys.current().leaf().getNotAfter().toInstant();
  }

  /** The CA certificates trusted. */
  public List<X509Certificate> ca() {
    return ca;
  }

  /** A trust manager for a server: which clients it accepts (checked at the handshake). */
  public PeerTrust clientTrust(Predicate<PeerIdentity> accept, String expectation) {
    return new PeerTrust(ca, accept, expectation, id -> revocations.revokedAt(id), clock, "client");
  }

  /** A trust manager for a client: which server it expects to reach. */
  public PeerTrust serverTrust(Predicate<PeerIdentity> accept, String expectation) {
    return new PeerTrust(ca, accept, expectation, id -> revocations.revokedAt(id), clock, "server");
  }

  /** A client's SSL context that expects a server {@code expected} accepts. */
  public SSLContext clientContext(Predicate<PeerIdentity> expected, String expectation) {
    try {
      SSLContext ctx = SSLContext.getInstance(PROTOCOL);
      ctx.init(
          new javax.net.ssl.KeyManager[] {keys},
          new TrustManager[] {serverTrust(expected, expectation)},
          null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new TlsException("TLS 1.3 is not available: " + e.getMessage(), e);
    }
  }

  /** Accepts any identity of the cluster (its CA and deny list still apply). */
  public static Predicate<PeerIdentity> anyone() {
    return id -> true;
  }

  /** Accepts exactly {@code id}. */
  public static Predicate<PeerIdentity> exactly(PeerIdentity id) {
    return id::equals;
  }
}
