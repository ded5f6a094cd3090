package io.porin.identity.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.api.ca.v1.CertificatesGrpc;
import io.porin.api.ca.v1.RenewRequest;
import io.porin.api.ca.v1.RenewResponse;
import io.porin.api.ca.v1.RevokeRequest;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.identity.EtcdResource;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.testing.EtcdTestResource;
import io.porin.service.testing.TestChannels;
import io.porin.service.testing.TestHttp;
import io.porin.tls.CertificateAuthority;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Pem;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged identity service decides by certificate: a node agent allocates for its own node
 * only, a reader never writes (each refusal PERMISSION_DENIED naming the certificate, and counted);
 * every identity renews its own certificate, and only that; admins revoke; allocations by others
 * than agents are audited.
 */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
class CertificatesIT {
  static final PeerIdentity N1 = PeerIdentity.node("n1");
  static final PeerIdentity READER = new PeerIdentity(PeerIdentity.Kind.READER, "dash");

  static ManagedChannel admin;
  static ManagedChannel n1;
  static ManagedChannel reader;
  static KvStore kv;

  @BeforeAll
  static void connect() {
    admin = TestChannels.admin(EtcdResource.port, "identity");
    n1 = TestChannels.as(N1, EtcdResource.port, PeerIdentity.service("identity"));
    reader = TestChannels.as(READER, EtcdResource.port, PeerIdentity.service("identity"));
    kv = EtcdResource.etcd.connect();
  }

  @AfterAll
  static void close() throws InterruptedException {
    kv.close();
    for (ManagedChannel c : List.of(admin, n1, reader)) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static AllocateRequest allocation(String owner, String app) {
    return AllocateRequest.newBuilder().setOwner(owner).addLabels("k8s:app=" + app).build();
  }

  static IdentitiesGrpc.IdentitiesBlockingStub identities(ManagedChannel c) {
    return IdentitiesGrpc.newBlockingStub(c).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  static double denied() {
    String metrics = TestHttp.get(EtcdResource.port, "identity", "/q/metrics").body();
    return metrics
        .lines()
        .filter(l -> l.startsWith("porin_authz_denied_total{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  @Test
  void aNodeAllocatesForItselfOnlyAndAReaderNever() {
    assertThat(identities(n1).allocate(allocation("n1", "mine")).getIdentity().getId())
        .isPositive();
    double before = denied();
    assertThatThrownBy(() -> identities(n1).allocate(allocation("n2", "theirs")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .contains("node/n1")
                  .contains("allocate identities for node n2");
            });
    assertThatThrownBy(() -> identities(reader).allocate(allocation("n1", "read-only")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .contains("reader/dash")
                  .contains("porin.identity.v1.Identities/Allocate");
            });
    assertThat(denied()).isEqualTo(before + 2);
    // a reader reads
    assertThat(
            identities(reader)
                .list(io.porin.api.identity.v1.ListRequest.getDefaultInstance())
                .getIdentitiesCount())
        .isPositive();
  }

  @Test
  void allocationsByOthersThanAgentsAreAudited() {
    identities(admin).allocate(allocation("ops", "audited"));
    identities(n1).allocate(allocation("n1", "not-audited"));
    List<String> records =
        kv.list(Keys.Audit.ofService("identity")).entries().stream()
            .map(io.porin.kvstore.Entry::value)
            .toList();
    assertThat(records)
        .anySatisfy(
            r ->
                assertThat(r)
                    .contains("\"who\":\"admin/test\"")
                    .contains("\"action\":\"allocate\"")
                    .contains("k8s:app=audited")
                    .contains("\"result\":\"created\""));
    assertThat(records).noneMatch(r -> r.contains("not-audited"));
  }

  @Test
  void everyIdentityRenewsItsOwnCertificateOnly() throws Exception {
    KeyPair key = CertificateAuthority.newKeyPair();
    RenewResponse r =
        CertificatesGrpc.newBlockingStub(n1)
            .renew(
                RenewRequest.newBuilder()
                    .setPublicKey(ByteString.copyFrom(key.getPublic().getEncoded()))
                    .build());
    List<X509Certificate> chain = Pem.parse(r.getCertificateChainPem(), "answer").certificates();
    X509Certificate leaf = chain.getFirst();
    // for the caller's identity, whatever it might want, over its new key, by the cluster CA
    assertThat(PeerIdentity.of(leaf)).contains(N1);
    assertThat(leaf.getPublicKey()).isEqualTo(key.getPublic());
    leaf.verify(EtcdTestResource.pki().ca().certificate().getPublicKey());
    assertThat(Duration.between(Instant.now(), leaf.getNotAfter().toInstant()))
        .isBetween(Duration.ofHours(23), Duration.ofHours(24));
    assertThat(leaf.getSubjectAlternativeNames()).anyMatch(san -> "127.0.0.1".equals(san.get(1)));

    assertThatThrownBy(
            () ->
                CertificatesGrpc.newBlockingStub(n1)
                    .renew(
                        RenewRequest.newBuilder()
                            .setPublicKey(ByteString.copyFromUtf8("not a key"))
                            .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).contains("public_key");
            });
  }

  @Test
  void onlyAdminsRevokeAndARevokedNodeIsRefused() throws Exception {
    PeerIdentity victim = PeerIdentity.node("n2");
    ManagedChannel n2 =
        TestChannels.as(victim, EtcdResource.port, PeerIdentity.service("identity"));
    try {
      assertThat(identities(n2).allocate(allocation("n2", "before")).getIdentity().getId())
          .isPositive();
      assertThatThrownBy(
              () ->
                  CertificatesGrpc.newBlockingStub(n1)
                      .revoke(RevokeRequest.newBuilder().setKind("node").setName("n2").build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      assertThatThrownBy(
              () ->
                  CertificatesGrpc.newBlockingStub(admin)
                      .revoke(RevokeRequest.newBuilder().setKind("root").setName("x").build()))
          .hasMessageContaining("kind: \"root\"");
      CertificatesGrpc.newBlockingStub(admin)
          .revoke(RevokeRequest.newBuilder().setKind("node").setName("n2").build());
      // on the connection it already has: refused at the next call
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      StatusRuntimeException refused = null;
      while (refused == null && System.nanoTime() < deadline) {
        try {
          identities(n2).allocate(allocation("n2", "after"));
          Thread.sleep(100);
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
      assertThat(refused).isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(refused.getStatus().getDescription()).contains("node/n2").contains("revoked");
      // on a new connection: the handshake fails
      ManagedChannel fresh =
          TestChannels.as(victim, EtcdResource.port, PeerIdentity.service("identity"));
      try {
        assertThatThrownBy(() -> identities(fresh).allocate(allocation("n2", "fresh")))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      } finally {
        fresh.shutdownNow();
      }
      // a certificate issued after the revocation is valid again
      Thread.sleep(2000); // notBefore has whole seconds: be clearly after the revocation
      EtcdTestResource.pki().reissue(victim, Duration.ofHours(1));
      ManagedChannel readmitted =
          TestChannels.as(victim, EtcdResource.port, PeerIdentity.service("identity"));
      try {
        assertThat(identities(readmitted).allocate(allocation("n2", "again")).getIdentity().getId())
            .isPositive();
      } finally {
        readmitted.shutdownNow();
      }
      assertThat(kv.get(Keys.Revocations.of("node", "n2")).orElseThrow().value())
          .contains("by=admin/test");
      // readmission (joining again, in Kubernetes): admins only, of revoked identities only
      assertThatThrownBy(
              () ->
                  CertificatesGrpc.newBlockingStub(n1)
                      .readmit(
                          io.porin.api.ca.v1.ReadmitRequest.newBuilder()
                              .setKind("node")
                              .setName("n2")
                              .build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
      assertThatThrownBy(
              () ->
                  CertificatesGrpc.newBlockingStub(admin)
                      .readmit(
                          io.porin.api.ca.v1.ReadmitRequest.newBuilder()
                              .setKind("node")
                              .setName("n1")
                              .build()))
          .hasMessageContaining("node/n1 is not revoked");
      String at =
          CertificatesGrpc.newBlockingStub(admin)
              .readmit(
                  io.porin.api.ca.v1.ReadmitRequest.newBuilder()
                      .setKind("node")
                      .setName("n2")
                      .build())
              .getReadmittedAt();
      assertThat(kv.get(Keys.Readmissions.of("node", "n2")).orElseThrow().value()).isEqualTo(at);
    } finally {
      n2.shutdownNow();
    }
  }
}
