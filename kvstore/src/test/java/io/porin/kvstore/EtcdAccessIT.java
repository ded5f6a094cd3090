package io.porin.kvstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real etcd with client certificates and Porin's roles: no certificate, no answer; a node's
 * certificate writes its own node record and endpoints, nothing of another node's; removing its
 * user stops it on the connection it already has.
 */
class EtcdAccessIT {
  static final PeerIdentity N1 = PeerIdentity.node("n1");
  static final PeerIdentity N2 = PeerIdentity.node("n2");
  static EtcdProcess etcd;

  @BeforeAll
  static void start() {
    etcd =
        EtcdProcess.startSecure(
            "access", TestPki.cluster(), List.of(N1, N2, PeerIdentity.service("identity")));
  }

  @AfterAll
  static void stop() {
    etcd.close();
  }

  @Test
  void aClientWithoutACertificateGetsNothing() throws Exception {
    ClusterTls admin = TestPki.cluster().tls(TestPki.ADMIN);
    try (Client c =
        Client.builder()
            .endpoints(etcd.endpoint())
            .connectTimeout(Duration.ofSeconds(2))
            .sslContext(
                b ->
                    b.trustManager(
                        admin.serverTrust(ClusterTls.exactly(KvStore.ETCD_IDENTITY), "etcd")))
            .build()) {
      assertThatThrownBy(
              () ->
                  c.getKVClient()
                      .get(ByteSequence.from("/porin/v1/", StandardCharsets.UTF_8))
                      .get(5, TimeUnit.SECONDS))
          .isNotNull();
    }
    // nor does a plaintext one
    assertThatThrownBy(
            () ->
                KvStore.connect(
                        List.of(etcd.endpoint().replace("https", "http")), Duration.ofSeconds(2))
                    .revision())
        .isInstanceOf(KvStoreException.class);
    // nor one of another CA
    ClusterTls foreign = TestPki.foreign().tlsTrusting(TestPki.ADMIN, TestPki.cluster());
    try (KvStore kv = KvStore.connect(List.of(etcd.endpoint()), Duration.ofSeconds(2), foreign)) {
      assertThatThrownBy(kv::revision).isInstanceOf(KvStoreException.class);
    }
  }

  @Test
  void aNodeWritesItsOwnKeysOnly() {
    try (KvStore n1 = etcd.connectAs(N1)) {
      n1.put(Keys.Nodes.node("n1"), "{}", 0);
      n1.put(Keys.Endpoints.endpoint("n1", "10.0.1.5"), "{}", 0);
      assertThat(n1.delete(Keys.Endpoints.endpoint("n1", "10.0.1.5"))).isTrue();
      for (String other :
          List.of(
              Keys.Nodes.node("n2"),
              Keys.Nodes.node("n10"),
              Keys.Endpoints.endpoint("n2", "10.0.2.5"),
              Keys.Identities.id(70000),
              Keys.Revocations.of("node", "n2"),
              Keys.Audit.record("policy", 1, 1))) {
        assertThatThrownBy(() -> n1.put(other, "{}", 0))
            .as(other)
            .isInstanceOf(KvStoreException.class)
            .hasMessageContaining("permission denied");
      }
      // it reads what every node needs
      assertThat(n1.list(Keys.Nodes.PREFIX).entries()).isNotEmpty();
      long lease = n1.grantLease(Duration.ofSeconds(30));
      n1.put(Keys.Endpoints.endpoint("n1", "10.0.1.6"), "{}", lease);
    }
  }

  @Test
  void aRemovedUserIsRefusedOnItsOpenConnection() {
    try (KvStore n2 = etcd.connectAs(N2);
        KvStore root = etcd.connect()) {
      n2.put(Keys.Nodes.node("n2"), "{}", 0);
      EtcdAccess.remove(root, N2);
      assertThatThrownBy(() -> n2.put(Keys.Nodes.node("n2"), "{\"again\":1}", 0))
          .isInstanceOf(KvStoreException.class);
      assertThat(EtcdAccess.users(root)).doesNotContain("node.n2").contains("node.n1");
    }
  }
}
