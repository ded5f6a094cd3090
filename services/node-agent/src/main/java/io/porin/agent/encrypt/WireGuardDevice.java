package io.porin.agent.encrypt;

import io.porin.core.ipam.Cidr;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.List;

/** The node's WireGuard interface: the kernel's or wireguard-go's, configured the same way. */
public interface WireGuardDevice extends AutoCloseable {
  /**
   * Every peer keeps its session alive (seconds): a peer (re)created on one side starts a handshake
   * at once instead of waiting for the other side's rekey timers, and an idle tunnel is ready.
   */
  int KEEPALIVE_SECONDS = 25;

  /** {@code kernel} or {@code userspace}. */
  String mode();

  String name();

  /** The interface's current index (a restarted wireguard-go gets a new one). */
  default int ifindex() {
    return io.porin.agent.bpf.Tc.ifindex(name());
  }

  /** The private key and the UDP port. */
  void configure(WireGuardKeys keys, int listenPort);

  /**
   * Changes peers in one step: every removal, then every peer set (created, or its endpoint and
   * allowed IPs replaced). A peer taking over prefixes from another in the same step takes them
   * with no gap.
   */
  void update(Collection<String> remove, Collection<Peer> set);

  /** What the device holds now. */
  Status status();

  /** Removes the interface (and stops wireguard-go); {@link #close()} leaves it running. */
  void destroy();

  @Override
  void close();

  /** One peer: a node's public key (base64), where it is, what may come from and go to it. */
  record Peer(String publicKey, InetSocketAddress endpoint, List<Cidr> allowedIps) {
    public Peer {
      allowedIps = List.copyOf(allowedIps);
    }
  }

  /** A peer as the device reports it. */
  record PeerStatus(
      String publicKey,
      String endpoint,
      List<String> allowedIps,
      long lastHandshakeEpochSeconds,
      long receivedBytes,
      long sentBytes) {}

  record Status(String publicKey, int listenPort, List<PeerStatus> peers) {}
}
