package io.porin.relay.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The relay's settings. */
@ConfigMapping(prefix = "porin")
public interface RelayConfig {

  /** Where etcd is (the nodes are discovered from it). */
  Etcd etcd();

  /** How the relay finds and merges the nodes' flows. */
  Relay relay();

  /** etcd connection. */
  interface Etcd {
    /** etcd client URLs, comma-separated. */
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    /** How long one etcd call may take. */
    @WithDefault("5s")
    Duration timeout();
  }

  /** Peers and merging. */
  interface Relay {
    /** The port every node's agent serves the Observer API on. */
    @WithDefault("9404")
    int agentPort();

    /**
     * Fixed peers as {@code node=host:port} instead of discovering them from etcd (every node the
     * agents publish under /porin/v1/nodes/).
     */
    Optional<List<String>> agents();

    /** How long a followed flow may wait for flows of other nodes that are older (sort window). */
    @WithDefault("200ms")
    Duration sortWindow();

    /** How long a node may take to answer a non-following request before it is left out. */
    @WithDefault("10s")
    Duration nodeTimeout();
  }
}
