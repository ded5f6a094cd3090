package io.porin.service.testing;

import io.grpc.ManagedChannel;
import io.porin.kvstore.testing.TestPki;
import io.porin.service.tls.ClusterChannels;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.util.Optional;

/** Channels from a test to the service under test, with a certificate of the test CA. */
public final class TestChannels {
  private TestChannels() {}

  /** As the test's admin, to the service {@code svc/<service>} on 127.0.0.1:{@code port}. */
  public static ManagedChannel admin(int port, String service) {
    return as(TestPki.ADMIN, port, PeerIdentity.service(service));
  }

  /** As {@code who}, to a server that must prove {@code expected}. */
  public static ManagedChannel as(PeerIdentity who, int port, PeerIdentity expected) {
    return with(TestPki.cluster().tls(who), port, expected);
  }

  /** With {@code tls}, to a server that must prove {@code expected}. */
  public static ManagedChannel with(ClusterTls tls, int port, PeerIdentity expected) {
    return ClusterChannels.builder("127.0.0.1:" + port, Optional.of(tls), expected)
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  /** A plaintext channel: what a process without a certificate would open. */
  public static ManagedChannel plaintext(int port) {
    return io.grpc.ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }
}
