package io.porin.service.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.kvstore.testing.TestPki;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * What a process that reaches a service's port without the cluster's certificate gets: nothing but
 * a failed handshake. Checked on the real port of a running service.
 */
public final class TlsRefusals {
  private TlsRefusals() {}

  /** Asserts every refusal, and that the cluster's admin is served, on 127.0.0.1:{@code port}. */
  public static void assertOnlyTheClusterIsServed(int port, String service) throws Exception {
    // plaintext HTTP (and so plaintext gRPC, h2c, on the same port): no answer
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      s.setSoTimeout(3000);
      s.getOutputStream()
          .write("GET /q/health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] answer = s.getInputStream().readNBytes(64);
      assertThat(new String(answer, StandardCharsets.ISO_8859_1))
          .as("a plaintext request must not be answered over HTTP")
          .doesNotContain("HTTP/1.1 200")
          .doesNotContain("UP");
    } catch (IOException closed) {
      // the server hung up: refused
    }
    PeerIdentity expected = PeerIdentity.service(service);
    // TLS without a client certificate
    ClusterTls admin = TestPki.cluster().tls(TestPki.ADMIN);
    SSLContext noCert = SSLContext.getInstance(ClusterTls.PROTOCOL);
    noCert.init(
        null,
        new TrustManager[] {admin.serverTrust(ClusterTls.exactly(expected), expected.toString())},
        null);
    assertThatThrownBy(() -> get(noCert, port)).isInstanceOf(IOException.class);
    // a certificate of another CA (that even trusts ours)
    ClusterTls foreign = TestPki.foreign().tlsTrusting(TestPki.ADMIN, TestPki.cluster());
    assertThatThrownBy(
            () ->
                get(foreign.clientContext(ClusterTls.exactly(expected), expected.toString()), port))
        .isInstanceOf(IOException.class);
    // etcd's certificate, of this cluster but long-lived and never a caller
    ClusterTls etcd = TestPki.cluster().tls(io.porin.kvstore.KvStore.ETCD_IDENTITY);
    assertThatThrownBy(
            () -> get(etcd.clientContext(ClusterTls.exactly(expected), expected.toString()), port))
        .isInstanceOf(IOException.class);
    // the cluster's admin is served, by the service it expects
    HttpResponse<String> ok =
        get(admin.clientContext(ClusterTls.exactly(expected), expected.toString()), port);
    assertThat(ok.statusCode()).isIn(200, 503);
    X509Certificate server =
        (X509Certificate) ok.sslSession().orElseThrow().getPeerCertificates()[0];
    assertThat(PeerIdentity.of(server)).contains(expected);
    // and only TLS 1.3 is spoken
    try (SSLSocket s =
        (SSLSocket)
            admin
                .clientContext(ClusterTls.exactly(expected), expected.toString())
                .getSocketFactory()
                .createSocket("127.0.0.1", port)) {
      s.setEnabledProtocols(new String[] {"TLSv1.2"});
      assertThatThrownBy(s::startHandshake).isInstanceOf(IOException.class);
    }
    assertNoSessionIsResumed(
        admin.clientContext(ClusterTls.exactly(expected), expected.toString()), port);
  }

  /**
   * Two connections from one client context are two full handshakes: a resumed session would carry
   * the certificate of the first one, and a client that renewed its certificate in between would
   * still be seen with the old one.
   */
  static void assertNoSessionIsResumed(SSLContext ctx, int port) throws Exception {
    long[] created = new long[2];
    for (int i = 0; i < 2; i++) {
      try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
        s.setSoTimeout(3000);
        s.startHandshake();
        // TLS 1.3 tickets come after the handshake: read the server's first bytes to take them
        s.getOutputStream()
            .write(
                "GET /q/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
        s.getInputStream().readNBytes(16);
        created[i] = s.getSession().getCreationTime();
      }
      Thread.sleep(20);
    }
    assertThat(created[1])
        .as("the second connection's session is its own (not resumed from the first)")
        .isNotEqualTo(created[0]);
  }

  private static HttpResponse<String> get(SSLContext ctx, int port)
      throws IOException, InterruptedException {
    try (HttpClient c =
        HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(3)).build()) {
      return c.send(
          HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/q/health"))
              .timeout(Duration.ofSeconds(5))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }
}
