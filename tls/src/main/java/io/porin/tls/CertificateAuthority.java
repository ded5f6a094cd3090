package io.porin.tls;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster CA: an EC P-256 key and a self-signed certificate, kept as {@code ca.crt} and {@code
 * ca.key} (0600) in a directory of the control plane's state, never in etcd. It issues the
 * short-lived leaf certificates of services, node agents and users (Bouncy Castle builds and signs
 * them; the JDK makes the keys).
 */
public final class CertificateAuthority {
  /** The CA certificate's file in the CA directory. */
  public static final String CERT_FILE = "ca.crt";

  /** The CA key's file in the CA directory (0600). */
  public static final String KEY_FILE = "ca.key";

  /** How long leaf certificates live unless asked otherwise. */
  public static final Duration DEFAULT_LEAF_VALIDITY = Duration.ofHours(24);

  /** How long a CA created by {@link #init} lives. */
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);

  /** Leaves start this much before their issue time, for clocks a little behind. */
  private static final Duration BACKDATE = Duration.ofMinutes(1);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate certificate;
  private final PrivateKey key;
  private final Clock clock;

  private CertificateAuthority(X509Certificate certificate, PrivateKey key, Clock clock) {
    this.certificate = certificate;
    this.key = key;
    this.clock = clock;
  }

  /**
   * Creates a CA in {@code dir} unless one is there already (then it is loaded, so that running
   * {@code porin ca init} twice never replaces the trust of a running cluster).
   */
  public static CertificateAuthority init(Path dir, String clusterName) {
    if (Files.exists(dir.resolve(CERT_FILE)) || Files.exists(dir.resolve(KEY_FILE))) {
      return load(dir);
    }
    Clock clock = Clock.systemUTC();
    KeyPair pair = newKeyPair();
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, "porin")
            .addRDN(BCStyle.CN, "porin cluster CA " + clusterName)
            .build();
    Instant now = clock.instant();
    try {
      var ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  subject,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(now.plus(CA_VALIDITY)),
                  subject,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()));
      X509Certificate cert = sign(b, pair.getPrivate());
      // The key first: a directory with a certificate and no key is never left behind.
      Pem.writeAtomically(dir.resolve(KEY_FILE), Pem.encode(List.of(), pair.getPrivate()), true);
      Pem.writeAtomically(dir.resolve(CERT_FILE), Pem.encode(List.of(cert), null), false);
      return new CertificateAuthority(cert, pair.getPrivate(), clock);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new TlsException("cannot create the cluster CA in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Loads the CA in {@code dir}; its key file must be private to its owner. */
  public static CertificateAuthority load(Path dir) {
    Path certFile = dir.resolve(CERT_FILE);
    Path keyFile = dir.resolve(KEY_FILE);
    if (!Files.isRegularFile(certFile) || !Files.isRegularFile(keyFile)) {
      throw new TlsException(
          "there is no cluster CA in " + dir + " (" + CERT_FILE + " and " + KEY_FILE + ")");
    }
    Pem.checkPrivate(keyFile);
    List<X509Certificate> certs = Pem.read(certFile).certificates();
    PrivateKey key = Pem.read(keyFile).key();
    if (certs.size() != 1 || key == null) {
      throw new TlsException(
          certFile + " must hold one certificate and " + keyFile + " one private key");
    }
    return new CertificateAuthority(certs.getFirst(), key, Clock.systemUTC());
  }

  /** The CA's certificate: what every component trusts. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** A leaf for {@code id} with a new key: what {@link #writeBundle} stores. */
  public record Issued(X509Certificate certificate, PrivateKey key) {}

  /**
   * Issues a certificate for {@code id} with a new EC P-256 key.
   *
   * @param addresses IP addresses and DNS names the holder serves on (SANs, for clients that check
   *     host names; Porin's own clients check the identity instead)
   */
  public Issued issue(PeerIdentity id, List<String> addresses, Duration validity) {
    KeyPair pair = newKeyPair();
    return new Issued(sign(id, pair.getPublic(), addresses, validity), pair.getPrivate());
  }

  /** Signs a certificate for {@code id} over a key its holder made (renewal). */
  public X509Certificate sign(
      PeerIdentity id, PublicKey publicKey, List<String> addresses, Duration validity) {
    if (validity.isNegative() || validity.isZero()) {
      throw new TlsException("validity " + validity + " of a certificate must be positive");
    }
    Instant now = clock.instant();
    Instant notAfter = now.plus(validity);
    if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
      notAfter = certificate.getNotAfter().toInstant();
    }
    try {
      var ext = new JcaX509ExtensionUtils();
      List<GeneralName> sans = new ArrayList<>();
      sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, id.uri()));
      for (String a : addresses) {
        sans.add(
            isIpLiteral(a)
                ? new GeneralName(GeneralName.iPAddress, a)
                : new GeneralName(GeneralName.dNSName, a));
      }
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  certificate,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(notAfter),
                  new X500NameBuilder(BCStyle.INSTANCE)
                      .addRDN(BCStyle.O, "porin")
                      .addRDN(BCStyle.CN, id.commonName())
                      .build(),
                  publicKey)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(
                      new KeyPurposeId[] {
                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                      }))
              .addExtension(
                  Extension.subjectAlternativeName,
                  true,
                  new GeneralNames(sans.toArray(GeneralName[]::new)))
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  ext.createAuthorityKeyIdentifier(certificate))
              .addExtension(
                  Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(publicKey));
      return sign(b, key);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new TlsException("cannot issue a certificate for " + id + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes a leaf and its key into one file (certificate, CA certificate, key; 0600), atomically: a
   * reader never sees a certificate with another certificate's key.
   */
  public void writeBundle(Path file, Issued issued) {
    Pem.writeAtomically(
        file, Pem.encode(List.of(issued.certificate(), certificate), issued.key()), true);
  }

  /** Writes the CA certificate (what peers trust) to {@code file}. */
  public void writeTrust(Path file) {
    Pem.writeAtomically(file, Pem.encode(List.of(certificate), null), false);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
      return new JcaX509CertificateConverter().getCertificate(b.build(signer));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  /** A new EC P-256 key pair (what Vert.x, grpc-java and etcd all load). */
  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no EC P-256", e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static boolean isIpLiteral(String a) {
    if (!a.matches("[0-9a-fA-F:.]+") || (!a.contains(":") && !a.matches("[0-9.]+"))) {
      return false;
    }
    try {
      InetAddress.ofLiteral(a);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
