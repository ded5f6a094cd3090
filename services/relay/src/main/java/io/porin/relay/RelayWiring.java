package io.porin.relay;

import io.porin.kvstore.KvStore;
import io.porin.relay.config.RelayConfig;
import io.porin.relay.peers.Peers;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.RevocationWatch;
import io.porin.service.tls.ServiceTls;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/** What the relay is made of. */
public class RelayWiring {

  /** The nodes to ask: fixed by configuration, else discovered from etcd. */
  @Produces
  @Singleton
  Peers peers(RelayConfig config, ServiceTls tls, RevocationWatch revocations) {
    if (config.relay().agents().isPresent()) {
      revocations.notFollowing();
      return Peers.fixed(config.relay().agents().get(), tls.cluster());
    }
    KvStore kv =
        KvStore.connect(
            config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
    revocations.follow(kv);
    return Peers.discovered(kv, config.relay().agentPort(), tls.cluster());
  }

  void close(@Disposes Peers peers) throws Exception {
    peers.close();
  }

  /** Who may call what: the cluster's flows are for services, admins and readers, not nodes. */
  @Produces
  @Singleton
  AccessRules accessRules() {
    return AccessTable.of(Map.of("observer.Observer/*", AccessRules.NOT_NODES));
  }
}
