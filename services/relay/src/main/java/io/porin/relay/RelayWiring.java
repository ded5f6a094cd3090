package io.porin.relay;

import io.porin.kvstore.KvStore;
import io.porin.relay.config.RelayConfig;
import io.porin.relay.peers.Peers;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** What the relay is made of. */
public class RelayWiring {

  /** The nodes to ask: fixed by configuration, else discovered from etcd. */
  @Produces
  @Singleton
  Peers peers(RelayConfig config) {
    if (config.relay().agents().isPresent()) {
      return Peers.fixed(config.relay().agents().get());
    }
    KvStore kv = KvStore.connect(config.etcd().endpoints(), config.etcd().timeout());
    return Peers.discovered(kv, config.relay().agentPort());
  }

  void close(@Disposes Peers peers) throws Exception {
    peers.close();
  }
}
