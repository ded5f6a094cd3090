package io.porin.service.testing;

import io.porin.kvstore.testing.TestPki;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** HTTPS requests from a test to a service's port (health, metrics), as the test's admin. */
public final class TestHttp {
  private TestHttp() {}

  /** A status and a body. */
  public record Response(int status, String body) {}

  /** GET {@code path} on 127.0.0.1:{@code port}, which must prove it is {@code svc/<service>}. */
  public static Response get(int port, String service, String path) {
    ClusterTls tls = TestPki.cluster().tls(TestPki.ADMIN);
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(
                tls.clientContext(
                    ClusterTls.exactly(PeerIdentity.service(service)), "svc/" + service))
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    try {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      client.close();
    }
  }
}
