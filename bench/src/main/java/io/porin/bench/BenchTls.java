package io.porin.bench;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The benchmarks' certificate: {@code PORIN_BENCH_CA} and {@code PORIN_BENCH_CERT} (a bundle from
 * {@code porin ca issue}) make them talk mutual TLS, as the services require; unset, plaintext to
 * services run with {@code porin.tls.insecure=true}.
 */
public final class BenchTls {
  private BenchTls() {}

  /** The benchmark's TLS, if the environment names a certificate. */
  public static Optional<ClusterTls> fromEnvironment() {
    String ca = System.getenv("PORIN_BENCH_CA");
    String cert = System.getenv("PORIN_BENCH_CERT");
    if (ca == null || cert == null || ca.isBlank() || cert.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(ClusterTls.load(Path.of(ca), Path.of(cert), Path.of(cert)));
  }

  /** A channel builder to a node agent at {@code target} (any node's agent of the cluster). */
  public static ManagedChannelBuilder<?> channelToAgent(String target) {
    Optional<ClusterTls> tls = fromEnvironment();
    if (tls.isEmpty()) {
      return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
    }
    return Grpc.newChannelBuilder(
        target,
        TlsChannelCredentials.newBuilder()
            .keyManager(tls.get().keyManager())
            .trustManager(
                tls.get().serverTrust(id -> id.kind() == PeerIdentity.Kind.NODE, "a node agent"))
            .build());
  }

  /** A channel builder to {@code target}, whose server must be {@code svc/<service>}. */
  public static ManagedChannelBuilder<?> channel(String target, String service) {
    Optional<ClusterTls> tls = fromEnvironment();
    if (tls.isEmpty()) {
      return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
    }
    PeerIdentity expected = PeerIdentity.service(service);
    return Grpc.newChannelBuilder(
        target,
        TlsChannelCredentials.newBuilder()
            .keyManager(tls.get().keyManager())
            .trustManager(tls.get().serverTrust(ClusterTls.exactly(expected), expected.toString()))
            .build());
  }
}
