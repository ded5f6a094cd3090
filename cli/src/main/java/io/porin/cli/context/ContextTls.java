package io.porin.cli.context;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * How the CLI reaches a context's services: mutual TLS 1.3 with the context's certificate, checking
 * that each server proves the identity it must have ({@code svc/policy}, a node's agent), or
 * plaintext for a context set with {@code --insecure}.
 */
public final class ContextTls {
  private ContextTls() {}

  /** The context's TLS; empty for an insecure context. Fails naming what is missing. */
  public static Optional<ClusterTls> of(Contexts.Context c) {
    if (c.isInsecure()) {
      return Optional.empty();
    }
    if (c.ca() == null || c.cert() == null) {
      throw new IllegalArgumentException(
          "the context has no certificate: the control plane only speaks mutual TLS (porin"
              + " context set NAME --ca CA --cert CERT; a lab's context has them)");
    }
    Path cert = Path.of(c.cert());
    return Optional.of(
        ClusterTls.load(Path.of(c.ca()), cert, c.key() == null ? cert : Path.of(c.key())));
  }

  /** Who a service's server must be. */
  public static Predicate<PeerIdentity> server(String service) {
    return service.equals("agent")
        ? id -> id.kind() == PeerIdentity.Kind.NODE
        : ClusterTls.exactly(PeerIdentity.service(service));
  }

  /**
   * A channel to {@code target}, whose server must be {@code service}'s; for an agent whose node
   * the context knows (a lab's context knows every node's), exactly that node's agent.
   */
  public static ManagedChannel channel(Contexts.Context c, String target, String service) {
    return Grpc.newChannelBuilder(target, credentials(c, target, service))
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  private static ChannelCredentials credentials(Contexts.Context c, String target, String service) {
    Optional<ClusterTls> tls = of(c);
    if (tls.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    Predicate<PeerIdentity> expected = server(service);
    String expectation = expectation(service);
    if (service.equals("agent") && c.nodes() != null) {
      for (var e : c.nodes().entrySet()) {
        if (e.getValue().equals(target) && !e.getKey().isEmpty()) {
          expected = ClusterTls.exactly(PeerIdentity.node(e.getKey()));
          expectation = "node/" + e.getKey();
        }
      }
    }
    return TlsChannelCredentials.newBuilder()
        .keyManager(tls.get().keyManager())
        .trustManager(tls.get().serverTrust(expected, expectation))
        .build();
  }

  private static String expectation(String service) {
    return service.equals("agent") ? "a node's agent" : "svc/" + service;
  }

  /** An HTTPS client for the services' health endpoints (any service or agent of the cluster). */
  public static HttpClient http(Contexts.Context c) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
    of(c)
        .ifPresent(
            t ->
                b.sslContext(
                    t.clientContext(
                        id ->
                            id.kind() == PeerIdentity.Kind.SERVICE
                                || id.kind() == PeerIdentity.Kind.NODE,
                        "a service or agent of the cluster")));
    return b.build();
  }

  /** {@code https} or {@code http}, as the context speaks. */
  public static String scheme(Contexts.Context c) {
    return c.isInsecure() ? "http" : "https";
  }
}
