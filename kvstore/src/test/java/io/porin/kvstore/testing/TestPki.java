package io.porin.kvstore.testing;

import io.porin.tls.CertificateAuthority;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cluster CA for integration tests, under {@code target/test-pki/}: certificates for whatever
 * identity a test names (issued once per run), and a second, foreign CA for refusals.
 */
public final class TestPki {
  private static final Map<String, TestPki> BY_NAME = new ConcurrentHashMap<>();

  /** The admin every test acts as unless it says otherwise. */
  public static final PeerIdentity ADMIN = new PeerIdentity(PeerIdentity.Kind.ADMIN, "test");

  private final Path dir;
  private final CertificateAuthority ca;
  private final Map<PeerIdentity, Path> bundles = new ConcurrentHashMap<>();

  private TestPki(Path dir) {
    this.dir = dir;
    this.ca = CertificateAuthority.init(dir.resolve("ca"), dir.getFileName().toString());
  }

  /** The run's CA named {@code name} (created at first use). */
  public static TestPki named(String name) {
    return BY_NAME.computeIfAbsent(
        name,
        n -> {
          try {
            Path base = Path.of("target", "test-pki").toAbsolutePath();
            Files.createDirectories(base);
            return new TestPki(Files.createTempDirectory(base, n + "-"));
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  /** The run's cluster CA. */
  public static TestPki cluster() {
    return named("cluster");
  }

  /** Another CA: what an outsider's certificates chain to. */
  public static TestPki foreign() {
    return named("foreign");
  }

  public CertificateAuthority ca() {
    return ca;
  }

  /** The CA certificate's file. */
  public Path caFile() {
    return dir.resolve("ca").resolve(CertificateAuthority.CERT_FILE);
  }

  /** The bundle (certificate, CA, key) of {@code id}, issued at first use for 24 h. */
  public Path bundle(PeerIdentity id) {
    return bundles.computeIfAbsent(
        id,
        i -> {
          Path f = dir.resolve(i.commonName() + ".pem");
          ca.writeBundle(f, ca.issue(i, List.of("127.0.0.1", "localhost"), Duration.ofHours(24)));
          return f;
        });
  }

  /**
   * Issues {@code id} a new certificate into its bundle file (a renewal), valid {@code validity}.
   */
  public Path reissue(PeerIdentity id, Duration validity) {
    Path f = dir.resolve(id.commonName() + ".pem");
    ca.writeBundle(f, ca.issue(id, List.of("127.0.0.1", "localhost"), validity));
    bundles.put(id, f);
    return f;
  }

  /** {@code id}'s TLS, trusting this CA. */
  public ClusterTls tls(PeerIdentity id) {
    Path b = bundle(id);
    return ClusterTls.load(caFile(), b, b);
  }

  /** {@code id}'s certificate of this CA, trusting {@code trusted}'s CA (an outsider's view). */
  public ClusterTls tlsTrusting(PeerIdentity id, TestPki trusted) {
    Path b = bundle(id);
    return ClusterTls.load(trusted.caFile(), b, b);
  }

  /** The settings a service needs to run as {@code id}. */
  public Map<String, String> settingsFor(PeerIdentity id) {
    return Map.of("porin.tls.ca", caFile().toString(), "porin.tls.cert", bundle(id).toString());
  }
}
