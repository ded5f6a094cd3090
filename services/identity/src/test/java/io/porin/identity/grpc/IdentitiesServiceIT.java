package io.porin.identity.grpc;

import static io.porin.service.testing.GrpcAssertions.assertStatus;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.AllocateResponse;
import io.porin.api.identity.v1.GetRequest;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.api.identity.v1.Identity;
import io.porin.api.identity.v1.KeepAliveRequest;
import io.porin.api.identity.v1.ListRequest;
import io.porin.api.identity.v1.LookupRequest;
import io.porin.api.identity.v1.ReleaseRequest;
import io.porin.api.identity.v1.WatchEvent;
import io.porin.api.identity.v1.WatchRequest;
import io.porin.identity.EtcdResource;
import io.porin.service.testing.TestHttp;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The packaged service, over gRPC and HTTP, against a real etcd. */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IdentitiesServiceIT {
  static ManagedChannel channel;
  static IdentitiesGrpc.IdentitiesBlockingStub stub;

  @BeforeAll
  static void connect() {
    channel = io.porin.service.testing.TestChannels.admin(EtcdResource.port, "identity");
    stub = IdentitiesGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static IdentitiesGrpc.IdentitiesBlockingStub stub() {
    return stub.withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static AllocateResponse allocate(String owner, String... labels) {
    return stub()
        .allocate(
            AllocateRequest.newBuilder().setOwner(owner).addAllLabels(List.of(labels)).build());
  }

  /** A process without the cluster's certificate gets a failed handshake, nothing else. */
  @Test
  @org.junit.jupiter.api.Order(0)
  void onlyTheClusterIsServed() throws Exception {
    io.porin.service.testing.TlsRefusals.assertOnlyTheClusterIsServed(
        EtcdResource.port, "identity");
  }

  @Test
  @Order(1)
  void listStartsWithTheReservedIdentities() {
    List<Identity> all = stub().list(ListRequest.getDefaultInstance()).getIdentitiesList();
    assertThat(all).hasSizeGreaterThanOrEqualTo(10);
    assertThat(all.subList(0, 10))
        .extracting(i -> i.getId() + " " + i.getLabels(0))
        .containsExactly(
            "1 reserved:host",
            "2 reserved:world",
            "3 reserved:unmanaged",
            "4 reserved:health",
            "5 reserved:init",
            "6 reserved:remote-node",
            "7 reserved:kube-apiserver",
            "8 reserved:ingress",
            "9 reserved:world-ipv4",
            "10 reserved:world-ipv6");
    assertThat(all.subList(0, 10)).allMatch(Identity::getReserved);
    assertThat(stub().get(GetRequest.newBuilder().setId(2).build()).getLabelsList())
        .containsExactly("reserved:world");
  }

  @Test
  @Order(2)
  void allocateGetLookupAndRelease() {
    AllocateResponse first =
        allocate(
            "node-1",
            "k8s:app=web",
            "k8s:io.kubernetes.pod.namespace=demo",
            "k8s:pod-template-hash=abc");
    assertThat(first.getCreated()).isTrue();
    assertThat(first.getIgnoredLabelsList()).containsExactly("k8s:pod-template-hash=abc");
    Identity id = first.getIdentity();
    assertThat(id.getClusterId()).isEqualTo(1);
    assertThat(id.getId() >>> 16).isEqualTo(1);
    assertThat(id.getLabelsList())
        .containsExactly("k8s:app=web", "k8s:io.kubernetes.pod.namespace=demo");

    AllocateResponse again =
        allocate("node-2", "k8s:io.kubernetes.pod.namespace=demo", "k8s:app=web");
    assertThat(again.getCreated()).isFalse();
    assertThat(again.getIdentity().getId()).isEqualTo(id.getId());

    Identity got = stub().get(GetRequest.newBuilder().setId(id.getId()).build());
    assertThat(got.getReferences()).isEqualTo(2);
    Identity looked =
        stub()
            .lookup(
                LookupRequest.newBuilder()
                    .addLabels("k8s:app=web")
                    .addLabels("k8s:io.kubernetes.pod.namespace=demo")
                    .build());
    assertThat(looked.getId()).isEqualTo(id.getId());

    assertThat(
            stub()
                .release(ReleaseRequest.newBuilder().setId(id.getId()).setOwner("node-2").build())
                .getReleased())
        .isTrue();
    assertThat(
            stub()
                .release(ReleaseRequest.newBuilder().setId(id.getId()).setOwner("node-2").build())
                .getReleased())
        .isFalse();
    assertThat(
            stub()
                .keepAlive(KeepAliveRequest.newBuilder().setOwner("node-1").build())
                .getTtlSeconds())
        .isPositive();
    assertStatus(
        () -> stub().keepAlive(KeepAliveRequest.newBuilder().setOwner("never-seen").build()),
        Status.Code.NOT_FOUND,
        "owner \"never-seen\"");
    assertStatus(
        () -> stub().lookup(LookupRequest.newBuilder().addLabels("k8s:app=nothing").build()),
        Status.Code.NOT_FOUND,
        "labels: no identity for k8s:app=nothing;");
    assertStatus(
        () -> stub().get(GetRequest.newBuilder().setId(999999).build()),
        Status.Code.NOT_FOUND,
        "identity 999999");
  }

  @Test
  @Order(3)
  void badInputIsInvalidArgumentNamingTheField() {
    assertStatus(
        () -> allocate("node-1"), Status.Code.INVALID_ARGUMENT, "labels: the label set is empty");
    assertStatus(
        () -> allocate("node-1", "k8s:app=ok", "k8s:App/x=1"),
        Status.Code.INVALID_ARGUMENT,
        "labels[1]: label \"k8s:App/x=1\"");
    assertStatus(
        () -> allocate("node-1", "reserved:host"),
        Status.Code.INVALID_ARGUMENT,
        "label \"reserved:host\": reserved labels");
    assertStatus(
        () -> allocate("", "k8s:app=web"),
        Status.Code.INVALID_ARGUMENT,
        "owner: the owner is empty");
    assertStatus(
        () -> stub().get(GetRequest.newBuilder().setId(0).build()),
        Status.Code.INVALID_ARGUMENT,
        "id: 0");
    Iterator<WatchEvent> bad = stub().watch(WatchRequest.newBuilder().setFromRevision(-4).build());
    assertStatus(bad::next, Status.Code.INVALID_ARGUMENT, "from_revision: -4");
  }

  @Test
  @Order(4)
  void watchSendsASnapshotThenChangesAndResumesFromARevision() {
    long last;
    var cancellable = io.grpc.Context.current().withCancellation();
    try {
      last =
          cancellable.call(
              () -> {
                Iterator<WatchEvent> events =
                    stub.withDeadlineAfter(20, TimeUnit.SECONDS)
                        .watch(WatchRequest.getDefaultInstance());
                List<WatchEvent> snapshot = new ArrayList<>();
                WatchEvent e;
                while ((e = events.next()).getType() != WatchEvent.Type.SYNCED) {
                  snapshot.add(e);
                }
                assertThat(snapshot)
                    .isNotEmpty()
                    .allMatch(s -> s.getType() == WatchEvent.Type.SNAPSHOT);
                AllocateResponse added = allocate("node-1", "k8s:app=watched-1");
                WatchEvent next = events.next();
                assertThat(next.getType()).isEqualTo(WatchEvent.Type.ADDED);
                assertThat(next.getIdentity().getId()).isEqualTo(added.getIdentity().getId());
                assertThat(next.getRevision()).isGreaterThan(e.getRevision());
                return next.getRevision();
              });
    } catch (Exception ex) {
      throw new AssertionError(ex);
    } finally {
      cancellable.cancel(null);
    }
    int second = allocate("node-1", "k8s:app=watched-2").getIdentity().getId();
    int third = allocate("node-1", "k8s:app=watched-3").getIdentity().getId();
    Iterator<WatchEvent> resumed =
        stub.withDeadlineAfter(20, TimeUnit.SECONDS)
            .watch(WatchRequest.newBuilder().setFromRevision(last).build());
    // the stream is the whole cluster's: other tests' identities (released, collected) may
    // come and go in between; this test's two must come, added, in order, after `last`
    List<WatchEvent> ours = new ArrayList<>();
    for (int i = 0; i < 100 && ours.size() < 2; i++) {
      WatchEvent n = resumed.next();
      assertThat(n.getRevision()).isGreaterThan(last);
      if (n.getIdentity().getId() == second || n.getIdentity().getId() == third) {
        ours.add(n);
      }
    }
    assertThat(ours).hasSize(2);
    WatchEvent a = ours.get(0);
    WatchEvent b = ours.get(1);
    assertThat(List.of(a.getType(), b.getType())).containsOnly(WatchEvent.Type.ADDED);
    assertThat(List.of(a.getIdentity().getId(), b.getIdentity().getId()))
        .containsExactly(second, third);
    assertThat(b.getRevision()).isGreaterThan(a.getRevision());
  }

  @Test
  @Order(5)
  void releasedIdentitiesAreDeletedAfterTheGracePeriodAndTheWatchSaysSo() {
    AllocateResponse r = allocate("node-gc", "k8s:app=short-lived");
    long rev = stub().list(ListRequest.getDefaultInstance()).getRevision();
    Iterator<WatchEvent> events =
        stub.withDeadlineAfter(20, TimeUnit.SECONDS)
            .watch(WatchRequest.newBuilder().setFromRevision(rev).build());
    stub()
        .release(
            ReleaseRequest.newBuilder().setId(r.getIdentity().getId()).setOwner("node-gc").build());
    WatchEvent deleted;
    do {
      deleted = events.next();
    } while (deleted.getIdentity().getId() != r.getIdentity().getId());
    assertThat(deleted.getType()).isEqualTo(WatchEvent.Type.DELETED);
    assertThat(deleted.getIdentity().getLabelsList()).containsExactly("k8s:app=short-lived");
  }

  @Test
  @Order(6)
  void metricsAreExposed() {
    assertThat(TestHttp.get(EtcdResource.port, "identity", "/q/metrics"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
              assertThat(r.body()).contains("porin_identity_count ");
              assertThat(r.body()).contains("porin_identity_allocation_seconds_bucket");
              assertThat(r.body())
                  .contains("porin_identity_allocation_errors_total{code=\"INVALID_ARGUMENT\"}");
            });
    // Test 5 waited for one deletion; leases of earlier tests may have expired into more.
    String metrics = TestHttp.get(EtcdResource.port, "identity", "/q/metrics").body();
    var deleted =
        java.util.regex.Pattern.compile("(?m)^porin_identity_gc_deleted_total (\\S+)$")
            .matcher(metrics);
    assertThat(deleted.find()).isTrue();
    assertThat(Double.parseDouble(deleted.group(1))).isGreaterThanOrEqualTo(1.0);
  }

  @Test
  @Order(7)
  void withoutEtcdRequestsAreUnavailableAndReadinessGoesDown() throws Exception {
    assertThat(TestHttp.get(EtcdResource.port, "identity", "/q/health/ready"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
            });
    EtcdResource.etcd.stop();
    try {
      assertStatus(() -> allocate("node-1", "k8s:app=offline"), Status.Code.UNAVAILABLE, "etcd");
      assertThat(TestHttp.get(EtcdResource.port, "identity", "/q/health/ready"))
          .satisfies(
              r -> {
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.body()).contains("etcd");
              });
    } finally {
      EtcdResource.etcd.start();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (TestHttp.get(EtcdResource.port, "identity", "/q/health/ready").status() != 200
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertThat(TestHttp.get(EtcdResource.port, "identity", "/q/health/ready"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
            });
    assertThat(allocate("node-1", "k8s:app=offline").getCreated()).isTrue();
  }
}
