package io.porin.agent.datapath;

import io.porin.core.ipam.Cidr;
import java.util.Collection;
import java.util.Set;

/**
 * The datapath's side of transparent encryption: which device pod traffic to other nodes goes
 * through, whether what cannot go through it is dropped (strict), and which prefixes are the pods
 * of configured peers ({@code porin_encrypt}).
 */
public interface Encryption {

  /** The WireGuard device (0: none), and the node's mode. */
  void setMode(int wgIfindex, boolean on, boolean strict);

  /** Adds prefixes (one call for many). */
  void putPeerPrefixes(Collection<Cidr> prefixes);

  boolean deletePeerPrefix(Cidr prefix);

  /** Every prefix, as the datapath holds it. */
  Set<Cidr> peerPrefixes();
}
