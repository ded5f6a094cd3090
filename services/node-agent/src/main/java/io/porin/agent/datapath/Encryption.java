package io.porin.agent.datapath;

import io.porin.core.ipam.Cidr;
import java.util.Map;

/**
 * The datapath's side of transparent encryption: which device pod traffic to other nodes goes
 * through, whether what cannot go through it is dropped (strict), and the other nodes' pod prefixes
 * ({@code porin_encrypt}): each either a configured peer's (through the device) or known without a
 * peer yet.
 */
public interface Encryption {

  /** The WireGuard device (0: none), and the node's mode. */
  void setMode(int wgIfindex, boolean on, boolean strict);

  /** Adds or replaces prefixes (one call for many): true when through a configured peer. */
  void putPrefixes(Map<Cidr, Boolean> throughPeer);

  boolean deletePrefix(Cidr prefix);

  /** Every prefix, as the datapath holds it (true: through a peer). */
  Map<Cidr, Boolean> prefixes();
}
