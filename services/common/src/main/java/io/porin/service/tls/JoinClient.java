package io.porin.service.tls;

import io.porin.tls.CertificateAuthority;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.porin.tls.PeerTrust;
import io.porin.tls.Pem;
import io.porin.tls.Revocations;
import io.porin.tls.TlsException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * Joins the cluster: a new key, and a certificate for it from the identity service's join port,
 * whose own certificate must be the identity service's of the cluster CA given (no host name is
 * checked; the identity is). The token proves who this component is; the identity service decides
 * which identity that is. Retries until the deadline while the port is unreachable or busy; a
 * refusal (a token that proves nothing) ends at once.
 */
public final class JoinClient implements FirstCertificate {
  private final String address;
  private final Path tokenFile;
  private final Path caFile;
  private final Duration timeout;
  private final Consumer<String> log;

  public JoinClient(
      String address, Path tokenFile, Path caFile, Duration timeout, Consumer<String> log) {
    this.address = address;
    this.tokenFile = tokenFile;
    this.caFile = caFile;
    this.timeout = timeout;
    this.log = log;
  }

  @Override
  public void obtain(Path bundle) {
    List<X509Certificate> ca = Pem.read(caFile).certificates();
    KeyPair pair = CertificateAuthority.newKeyPair();
    HttpClient http = client(ca);
    Instant deadline = Instant.now().plus(timeout);
    String last = "";
    while (true) {
      // the token is read for each attempt: the kubelet replaces it before it expires
      String body =
          new JsonObject()
              .put("token", token())
              .put("publicKey", Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()))
              .encode();
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("https://" + address + "/v1/join"))
              .timeout(Duration.ofSeconds(30))
              .header("content-type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      try {
        HttpResponse<String> answer = http.send(request, HttpResponse.BodyHandlers.ofString());
        JsonObject json = parse(answer.body());
        if (answer.statusCode() == 200) {
          List<X509Certificate> chain =
              Pem.parse(json.getString("certificates", ""), "the join answer").certificates();
          if (chain.isEmpty() || !chain.getFirst().getPublicKey().equals(pair.getPublic())) {
            throw new TlsException("the join answer holds no certificate for the key sent");
          }
          Pem.writeAtomically(bundle, Pem.encode(chain, pair.getPrivate()), true);
          log.accept("joined as " + json.getString("identity") + " via " + address);
          return;
        }
        last = answer.statusCode() + ": " + json.getString("error", answer.body());
        if (answer.statusCode() < 500 && answer.statusCode() != 429) {
          throw new TlsException("joining via " + address + " was refused (" + last + ")");
        }
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TlsException("interrupted while joining", e);
      }
      if (Instant.now().isAfter(deadline)) {
        throw new TlsException(
            "could not join via " + address + " within " + timeout + " (last: " + last + ")");
      }
      log.accept("waiting to join via " + address + " (" + last + ")");
      try {
        Thread.sleep(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new TlsException("interrupted while joining", e);
      }
    }
  }

  private String token() {
    try {
      String t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
      if (t.isEmpty()) {
        throw new TlsException("porin.tls.join.token-file " + tokenFile + " is empty");
      }
      return t;
    } catch (IOException e) {
      throw new TlsException(
          "porin.tls.join.token-file " + tokenFile + " cannot be read: " + e.getMessage(), e);
    }
  }

  private static JsonObject parse(String body) {
    try {
      return new JsonObject(body);
    } catch (RuntimeException e) {
      return new JsonObject();
    }
  }

  /** TLS 1.3, trusting the cluster CA, and only a server that proves it is the identity service. */
  private static HttpClient client(List<X509Certificate> ca) {
    try {
      SSLContext ctx = SSLContext.getInstance(ClusterTls.PROTOCOL);
      PeerTrust trust =
          new PeerTrust(
              ca,
              ClusterTls.exactly(PeerIdentity.service("identity")),
              "the identity service",
              Revocations.NONE,
              Clock.systemUTC(),
              "server");
      ctx.init(null, new TrustManager[] {trust}, null);
      SSLParameters params = new SSLParameters();
      params.setProtocols(new String[] {ClusterTls.PROTOCOL});
      // the identity is checked by the trust manager; host names are not part of it
      params.setEndpointIdentificationAlgorithm(null);
      return HttpClient.newBuilder()
          .sslContext(ctx)
          .sslParameters(params)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
    } catch (java.security.GeneralSecurityException e) {
      throw new TlsException("TLS 1.3 is not available: " + e.getMessage(), e);
    }
  }
}
