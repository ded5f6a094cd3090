package io.porin.service.tls;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.util.Optional;

/**
 * Channels from one component of the control plane to another: mutual TLS 1.3 with this component's
 * (reloading) certificate, expecting the peer to prove {@code expected}; plaintext only when this
 * component runs with {@code porin.tls.insecure=true}.
 */
public final class ClusterChannels {
  private ClusterChannels() {}

  /** A channel builder for {@code target} (host:port), to be built by the caller. */
  public static ManagedChannelBuilder<?> builder(
      String target, Optional<ClusterTls> tls, PeerIdentity expected) {
    return Grpc.newChannelBuilder(target, credentials(tls, expected));
  }

  /**
   * A channel to {@code target} that moves onto this component's renewed certificate: after each
   * renewal the channel goes idle, so the calls that follow open a new connection (a full handshake
   * with the renewed certificate) while the calls still running finish on the old one. Owners of
   * long-lived streams move them with {@link ClusterTls#onRenewed}.
   */
  public static io.grpc.ManagedChannel renewing(
      String target, Optional<ClusterTls> tls, PeerIdentity expected, int maxInboundBytes) {
    io.grpc.ManagedChannel channel =
        builder(target, tls, expected).maxInboundMessageSize(maxInboundBytes).build();
    tls.ifPresent(t -> followRenewals(t, channel));
    return channel;
  }

  private static void followRenewals(ClusterTls tls, io.grpc.ManagedChannel channel) {
    java.util.concurrent.atomic.AtomicReference<AutoCloseable> handle =
        new java.util.concurrent.atomic.AtomicReference<>();
    handle.set(
        tls.onRenewed(
            () -> {
              if (channel.isShutdown()) {
                try {
                  handle.get().close();
                } catch (Exception ignored) {
                  // removing a listener does not fail
                }
              } else {
                channel.enterIdle();
              }
            }));
  }

  /**
   * The channel, told to connect at once if it is waiting out a reconnect backoff (gRPC waits up to
   * two minutes between attempts by itself): a peer that came back is used at the next call.
   */
  public static io.grpc.ManagedChannel reviving(io.grpc.ManagedChannel channel) {
    if (channel.getState(false) == io.grpc.ConnectivityState.TRANSIENT_FAILURE) {
      channel.resetConnectBackoff();
    }
    return channel;
  }

  /** The credentials to reach a peer that must prove {@code expected}. */
  public static ChannelCredentials credentials(Optional<ClusterTls> tls, PeerIdentity expected) {
    if (tls.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    ClusterTls t = tls.get();
    return TlsChannelCredentials.newBuilder()
        .keyManager(t.keyManager())
        .trustManager(t.serverTrust(ClusterTls.exactly(expected), expected.toString()))
        .build();
  }
}
