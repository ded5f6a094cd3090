package io.porin.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real TLS 1.3 handshakes over loopback between certificates the CA issues: what is accepted and
 * what is refused, and a renewed certificate taken without restarting the server.
 */
class ClusterTlsTest {
  @TempDir Path dir;

  private Path bundle(CertificateAuthority ca, PeerIdentity id, Duration validity) {
    Path f = dir.resolve(id.commonName() + ".pem");
    ca.writeBundle(f, ca.issue(id, List.of("127.0.0.1", "localhost"), validity));
    return f;
  }

  private ClusterTls tls(CertificateAuthority ca, PeerIdentity id) {
    Path f = bundle(ca, id, Duration.ofHours(1));
    Path caFile = dir.resolve("trust-" + id.commonName() + ".crt");
    ca.writeTrust(caFile);
    return ClusterTls.load(caFile, f, f);
  }

  /** A server accepting {@code accept}; answers the client's identity as the server saw it. */
  private record Server(SSLServerSocket socket, CompletableFuture<String> seen) {}

  private Server serve(ClusterTls server, Predicate<PeerIdentity> accept) throws Exception {
    SSLContext ctx = SSLContext.getInstance(ClusterTls.PROTOCOL);
    ctx.init(
        new javax.net.ssl.KeyManager[] {server.keyManager()},
        new TrustManager[] {server.clientTrust(accept, "the test's peers")},
        null);
    SSLServerSocket s =
        (SSLServerSocket)
            ctx.getServerSocketFactory().createServerSocket(0, 4, InetAddress.getLoopbackAddress());
    s.setNeedClientAuth(true);
    s.setEnabledProtocols(new String[] {ClusterTls.PROTOCOL});
    CompletableFuture<String> seen = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (SSLSocket c = (SSLSocket) s.accept()) {
                c.setSoTimeout(5000);
                c.startHandshake();
                var peer =
                    (java.security.cert.X509Certificate) c.getSession().getPeerCertificates()[0];
                new DataOutputStream(c.getOutputStream())
                    .writeUTF(PeerIdentity.of(peer).orElseThrow().toString());
                seen.complete("ok");
              } catch (IOException e) {
                seen.complete("refused: " + e.getMessage());
              }
            });
    return new Server(s, seen);
  }

  private String call(ClusterTls client, Server server, Predicate<PeerIdentity> expect)
      throws Exception {
    try (SSLSocket c =
        (SSLSocket)
            client
                .clientContext(expect, "the test's server")
                .getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), server.socket().getLocalPort())) {
      c.setSoTimeout(5000);
      c.startHandshake();
      return new DataInputStream(c.getInputStream()).readUTF();
    } finally {
      server.socket().close();
    }
  }

  @Test
  void aClientOfTheClusterIsServedAndNamed() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    ClusterTls client = tls(ca, PeerIdentity.node("n1"));
    Server s = serve(server, ClusterTls.anyone());
    assertThat(call(client, s, ClusterTls.exactly(PeerIdentity.service("policy"))))
        .isEqualTo("node/n1");
  }

  @Test
  void aClientOfAnotherCaIsRefusedAtTheHandshake() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    CertificateAuthority other = CertificateAuthority.init(dir.resolve("other"), "other");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    Path foreign = bundle(other, PeerIdentity.node("n1"), Duration.ofHours(1));
    // The foreign client even trusts our CA: only its own certificate is wrong.
    Path trust = dir.resolve("ours.crt");
    ca.writeTrust(trust);
    ClusterTls client = ClusterTls.load(trust, foreign, foreign);
    Server s = serve(server, ClusterTls.anyone());
    assertThatThrownBy(() -> call(client, s, ClusterTls.anyone())).isInstanceOf(IOException.class);
    assertThat(s.seen().get(5, TimeUnit.SECONDS))
        .startsWith("refused")
        .contains("not signed by this cluster's CA");
  }

  @Test
  void aServerOfAnotherIdentityIsRefusedByTheClient() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls impostor = tls(ca, PeerIdentity.node("n2")); // a node posing as the policy service
    ClusterTls client = tls(ca, PeerIdentity.node("n1"));
    Server s = serve(impostor, ClusterTls.anyone());
    assertThatThrownBy(() -> call(client, s, ClusterTls.exactly(PeerIdentity.service("policy"))))
        .isInstanceOf(IOException.class)
        .hasStackTraceContaining("node/n2");
  }

  @Test
  void anIdentityTheServerDoesNotAcceptIsRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("identity"));
    ClusterTls reader = tls(ca, new PeerIdentity(PeerIdentity.Kind.READER, "grafana"));
    Server s = serve(server, id -> id.kind() != PeerIdentity.Kind.READER);
    assertThatThrownBy(() -> call(reader, s, ClusterTls.anyone())).isInstanceOf(IOException.class);
    assertThat(s.seen().get(5, TimeUnit.SECONDS)).contains("reader/grafana");
  }

  @Test
  void aRevokedNodeIsRefusedUntilItGetsACertificateIssuedAfterwards() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    ClusterTls client = tls(ca, PeerIdentity.node("n1"));
    Instant revokedAt = Instant.now().plusSeconds(120); // after the issue time the CA records
    server.useRevocations(
        id -> id.equals(PeerIdentity.node("n1")) ? Optional.of(revokedAt) : Optional.empty());
    Server s = serve(server, ClusterTls.anyone());
    assertThatThrownBy(() -> call(client, s, ClusterTls.anyone())).isInstanceOf(IOException.class);
    assertThat(s.seen().get(5, TimeUnit.SECONDS)).contains("node/n1").contains("revoked");

    server.useRevocations(
        id ->
            id.equals(PeerIdentity.node("n1"))
                ? Optional.of(Instant.now().minusSeconds(600))
                : Optional.empty());
    Server again = serve(server, ClusterTls.anyone());
    assertThat(call(client, again, ClusterTls.anyone())).isEqualTo("node/n1");
  }

  @Test
  void anExpiredCertificateIsRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    Path f = bundle(ca, PeerIdentity.node("n1"), Duration.ofMillis(1));
    Path trust = dir.resolve("t.crt");
    ca.writeTrust(trust);
    // notBefore is backdated a minute: a 1 ms certificate has long expired.
    ClusterTls client = ClusterTls.load(trust, f, f);
    Server s = serve(server, ClusterTls.anyone());
    assertThatThrownBy(() -> call(client, s, ClusterTls.anyone())).isInstanceOf(IOException.class);
    assertThat(s.seen().get(5, TimeUnit.SECONDS)).contains("not now");
  }

  @Test
  void aRenewedCertificateIsTakenAtTheNextHandshakeWithoutARestart() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    Path f = dir.resolve("svc.policy.pem");
    var before = server.keys().current().leaf();
    ca.writeBundle(f, ca.issue(PeerIdentity.service("policy"), List.of(), Duration.ofHours(2)));
    assertThat(server.keys().reloadNow()).isTrue();
    assertThat(server.keys().current().leaf()).isNotEqualTo(before);
    ClusterTls client = tls(ca, PeerIdentity.node("n1"));
    assertThat(call(client, serve(server, ClusterTls.anyone()), ClusterTls.anyone()))
        .isEqualTo("node/n1");
  }

  @Test
  void aKeyThatDoesNotMatchItsCertificateIsNotTaken() throws Exception {
    CertificateAuthority ca = CertificateAuthority.init(dir.resolve("ca"), "test");
    ClusterTls server = tls(ca, PeerIdentity.service("policy"));
    Path f = dir.resolve("svc.policy.pem");
    var good = server.keys().current().leaf();
    var a = ca.issue(PeerIdentity.service("policy"), List.of(), Duration.ofHours(1));
    var b = ca.issue(PeerIdentity.service("policy"), List.of(), Duration.ofHours(1));
    Pem.writeAtomically(f, Pem.encode(List.of(a.certificate()), b.key()), true);
    assertThat(server.keys().reloadNow()).isFalse();
    assertThat(server.keys().current().leaf()).isEqualTo(good);
  }

  @Test
  void keysAreWrittenPrivateAndAReadableKeyIsRefused() throws Exception {
    CertificateAuthority.init(dir.resolve("ca"), "test");
    Path key = dir.resolve("ca").resolve(CertificateAuthority.KEY_FILE);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("ca")))
        .isInstanceOf(TlsException.class)
        .hasMessageContaining("chmod 600")
        .hasMessageContaining(key.toString());
  }

  @Test
  void initTwiceKeepsTheFirstCa() {
    var first = CertificateAuthority.init(dir.resolve("ca"), "test").certificate();
    assertThat(CertificateAuthority.init(dir.resolve("ca"), "test").certificate()).isEqualTo(first);
  }

  @Test
  void identitiesRoundTripAndBadOnesAreRefused() {
    var id = new PeerIdentity(PeerIdentity.Kind.NODE, "lab-node1");
    assertThat(PeerIdentity.ofUri(id.uri())).contains(id);
    assertThat(id.commonName()).isEqualTo("node.lab-node1");
    assertThat(PeerIdentity.ofUri("spiffe://porin/root/x")).isEmpty();
    assertThat(PeerIdentity.ofUri("spiffe://other/node/x")).isEmpty();
    assertThat(PeerIdentity.ofUri("spiffe://porin/node/A:B")).isEmpty();
    assertThatThrownBy(() -> PeerIdentity.node("bad:name")).hasMessageContaining("bad:name");
  }
}
