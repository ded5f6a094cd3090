package io.porin.clustermesh.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The clustermesh service's settings. */
@ConfigMapping(prefix = "porin")
public interface MeshConfig {

  /** Where this cluster's etcd is. */
  Etcd etcd();

  /** This cluster as its peers see it, and the peers it imports from. */
  Clustermesh clustermesh();

  /** etcd connection. */
  interface Etcd {
    /** etcd client URLs, comma-separated. */
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    /** How long one etcd call may take. */
    @WithDefault("5s")
    Duration timeout();
  }

  /** The mesh. */
  interface Clustermesh {
    /**
     * This cluster's ID, 1..255: the identity service's {@code porin.identity.cluster-id} (no
     * default: a wrong one would let the clash checks pass).
     */
    int clusterId();

    /** This cluster's pod CIDRs (the IPAM pools), which must not overlap a peer's. */
    Optional<List<String>> podCidrs();

    /** What this cluster offers its peers (e.g. {@code wireguard}). */
    Optional<List<String>> capabilities();

    /**
     * The clusters to import from, as {@code name=host:port} of their clustermesh service. For
     * their clustermesh services to reach this one, their CAs must be in {@code porin.tls.ca} (a
     * bundle of this cluster's CA and the peers').
     */
    Optional<List<String>> peers();

    /**
     * Each peer's CA, as {@code name=/path/to/ca.crt}: the importer of a peer trusts that CA only
     * (no other cluster's certificate can pose as that peer).
     */
    Optional<List<String>> peerCas();

    /**
     * How many records one peer may have imported into this cluster's etcd; beyond, its new records
     * are refused (and counted).
     */
    @WithDefault("200000")
    int maxKeysPerPeer();
  }
}
