package io.porin.clustermesh;

import static io.porin.service.testing.GrpcAssertions.assertStatus;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.porin.api.mesh.v1.ClusterMeshGrpc;
import io.porin.api.mesh.v1.ExportRequest;
import io.porin.api.mesh.v1.InfoRequest;
import io.porin.clustermesh.imports.PeerImporter;
import io.porin.core.ipam.Cidr;
import io.porin.core.mesh.ClusterInfo;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.porin.service.testing.EtcdTestResource;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The packaged clustermesh service of cluster "east" exports its etcd; the importer of cluster
 * "west" (with west's own CA, which east trusts) mirrors it into west's etcd: snapshot, changes,
 * resume after a reconnect, a snapshot again after compaction, and refusals.
 */
@QuarkusIntegrationTest
@WithTestResource(MeshResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterMeshIT {
  static final ClusterInfo WEST = new ClusterInfo("west", 2, List.of(Cidr.parse("10.201.0.0/16")));
  static final String R = Keys.ROOT;

  static EtcdProcess westEtcd;
  static KvStore west;
  static KvStore east;

  @BeforeAll
  static void clusters() {
    westEtcd = EtcdProcess.start("west");
    west = westEtcd.connect();
    east = EtcdTestResource.etcd.connect();
  }

  @AfterAll
  static void down() {
    east.close();
    west.close();
    westEtcd.close();
  }

  /** West's clustermesh service: its certificate of west's CA, trusting east's CA. */
  static Optional<ClusterTls> westTls() {
    return Optional.of(
        MeshResource.west()
            .tlsTrusting(PeerIdentity.service("clustermesh"), EtcdTestResource.pki()));
  }

  static PeerImporter importer(String name, ClusterInfo local, Optional<ClusterTls> tls) {
    return new PeerImporter(name, "127.0.0.1:" + EtcdTestResource.port, local, west, tls).start();
  }

  static Optional<String> imported(String relative) {
    return west.get(Keys.Mesh.imported("east", relative)).map(e -> e.value());
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 20 s: " + what);
      }
      Thread.sleep(50);
    }
  }

  static String service(boolean global, boolean shared) {
    return new io.porin.core.service.ServiceRecord(
            "production",
            "x",
            "ClusterIP",
            List.of("10.96.0.50"),
            false,
            List.of(),
            0,
            "random",
            List.of(),
            global
                ? new io.porin.core.service.ServiceRecord.Mesh(
                    true, shared, io.porin.core.service.ServiceRecord.Affinity.NONE)
                : io.porin.core.service.ServiceRecord.Mesh.LOCAL)
        .toJson();
  }

  @Test
  @Order(1)
  void aPeerImportsTheSnapshotThenEveryChange() throws Exception {
    // which node holds which pod addresses (IPAM): endpoints and node records are exported only
    // when their node holds what they claim
    east.put(Keys.Ipam.block("ipv4", "10.200.0.0/24"), "n1", 0);
    east.put(Keys.Ipam.block("ipv4", "10.200.1.0/24"), "n2", 0);
    east.put(R + "endpoints/n2/10.200.0.9", "{\"identity\":65800}", 0);
    east.put(R + "nodes/n3", "{\"name\":\"n3\",\"ipv4Cidrs\":[\"10.200.0.0/24\"]}", 0);
    east.put(R + "identities/id/65800", "k8s:app=backend;k8s:io.cilium.k8s.policy.cluster=east", 0);
    east.put(R + "endpoints/n1/10.200.0.5", "{\"identity\":65800}", 0);
    east.put(R + "nodes/n1", "{\"name\":\"n1\"}", 0);
    east.put(R + "nodes/n2", "{\"name\":\"n2\"}", 0);
    east.put(R + "resources/pods/default/a", "not exported", 0);
    // services: only those global and shared are exported
    east.put(R + "services/production/global-backend", service(true, true), 0);
    east.put(R + "services/production/unshared", service(true, false), 0);
    east.put(R + "services/production/local", service(false, true), 0);
    // east speaks only for its own identities: numbered in its cluster ID (1) and labelled as
    // its own, never reserved; these are not believed
    east.put(
        R + "identities/id/" + (3 << 16 | 300),
        "k8s:app=impostor;k8s:io.cilium.k8s.policy.cluster=east",
        0);
    east.put(
        R + "identities/id/" + (1 << 16 | 301),
        "k8s:app=admin;k8s:io.cilium.k8s.policy.cluster=west",
        0);
    east.put(R + "identities/id/" + (1 << 16 | 302), "k8s:app=x", 0);
    east.put(
        R + "identities/id/" + (1 << 16 | 303),
        "reserved:host;k8s:io.cilium.k8s.policy.cluster=east",
        0);
    east.put(R + "identities/id/" + (1 << 16 | 7), "k8s:io.cilium.k8s.policy.cluster=east", 0);
    try (PeerImporter p = importer("east", WEST, westTls())) {
      await("east imported", p::synced);
      assertThat(p.problem()).isEmpty();
      assertThat(p.snapshots()).isEqualTo(1);
      assertThat(imported("identities/id/65800"))
          .contains("k8s:app=backend;k8s:io.cilium.k8s.policy.cluster=east");
      assertThat(imported("endpoints/n1/10.200.0.5")).contains("{\"identity\":65800}");
      assertThat(imported("nodes/n2")).isPresent();
      for (int id :
          new int[] {3 << 16 | 300, 1 << 16 | 301, 1 << 16 | 302, 1 << 16 | 303, 1 << 16 | 7}) {
        assertThat(imported("identities/id/" + id)).as("identity %d", id).isEmpty();
      }
      assertThat(p.refused()).isEqualTo(5);
      assertThat(west.list(Keys.Mesh.importedPrefix("east")).entries())
          .noneMatch(e -> e.key().contains("resources/"));
      assertThat(imported("endpoints/n2/10.200.0.9")).as("n1's address, published by n2").isEmpty();
      assertThat(imported("nodes/n3")).as("a node claiming n1's block").isEmpty();
      assertThat(imported("services/production/global-backend")).isPresent();
      assertThat(imported("services/production/unshared")).isEmpty();
      assertThat(imported("services/production/local")).isEmpty();
      // changes follow
      east.put(R + "endpoints/n2/10.200.1.7", "{\"identity\":65800}", 0);
      // a service that stops being shared leaves its peers; one that becomes global joins them
      east.put(R + "services/production/global-backend", service(true, false), 0);
      east.put(R + "services/production/local", service(true, true), 0);
      await(
          "an unshared service gone",
          () -> imported("services/production/global-backend").isEmpty());
      await("a global service come", () -> imported("services/production/local").isPresent());
      east.delete(R + "nodes/n2");
      await("a new endpoint", () -> imported("endpoints/n2/10.200.1.7").isPresent());
      await("a node gone", () -> imported("nodes/n2").isEmpty());
      long rev = east.revision();
      await("the revision recorded", () -> p.revision() >= rev - 1);
    }
  }

  @Test
  @Order(2)
  void aReconnectResumesWhereItStoppedWithoutASnapshot() throws Exception {
    east.put(R + "endpoints/n1/10.200.0.9", "{\"identity\":65800}", 0);
    east.delete(R + "endpoints/n1/10.200.0.5");
    try (PeerImporter p = importer("east", WEST, westTls())) {
      await("the missed changes", () -> imported("endpoints/n1/10.200.0.9").isPresent());
      await("the missed delete", () -> imported("endpoints/n1/10.200.0.5").isEmpty());
      assertThat(p.snapshots()).as("resumed from its revision").isZero();
    }
  }

  @Test
  @Order(3)
  void aCompactedHistoryGivesASnapshotThatDropsWhatWent() throws Exception {
    east.delete(R + "nodes/n1");
    east.put(R + "nodes/n3", "{\"name\":\"n3\"}", 0);
    east.compact(east.revision());
    try (PeerImporter p = importer("east", WEST, westTls())) {
      await("a snapshot", () -> p.snapshots() == 1 && p.synced());
      await("n3 in", () -> imported("nodes/n3").isPresent());
      assertThat(imported("nodes/n1")).as("gone in east, so gone here").isEmpty();
      assertThat(imported("endpoints/n1/10.200.0.9")).isPresent();
    }
  }

  @Test
  @Order(4)
  void aPeerThatIsNotWhoItShouldBeOrClashesIsRefused() throws Exception {
    try (PeerImporter wrongName = importer("north", WEST, westTls())) {
      await("refused", () -> wrongName.problem().orElse("").contains("is cluster \"east\""));
      assertThat(wrongName.problem().get()).contains("not \"north\" as configured");
    }
    ClusterInfo alsoEast = new ClusterInfo("east", 2, List.of(Cidr.parse("10.201.0.0/16")));
    try (PeerImporter sameName = importer("east", alsoEast, westTls())) {
      await(
          "refused",
          () -> sameName.problem().orElse("").contains("both clusters are named \"east\""));
    }
    ClusterInfo overlapping = new ClusterInfo("west", 2, List.of(Cidr.parse("10.200.128.0/17")));
    try (PeerImporter clash = importer("east", overlapping, westTls())) {
      await("refused", () -> clash.problem().orElse("").contains("overlaps"));
      assertThat(clash.problem().get()).contains("10.200.0.0/16").contains("10.200.128.0/17");
      assertThat(clash.synced()).isFalse();
    }
    assertThat(west.list(Keys.Mesh.ofCluster("north")).entries()).isEmpty();
    // a peer whose cluster ID changed since it was connected is refused
    String recorded = west.get(Keys.Mesh.info("east")).orElseThrow().value();
    assertThat(ClusterInfo.parseRecord("east", recorded).id()).isEqualTo(1);
    assertThat(ClusterInfo.parseRecord("east", recorded).podCidrs())
        .as("its pod CIDRs are recorded for this cluster's readers")
        .isNotEmpty();
    west.put(Keys.Mesh.info("east"), recorded.replace("\"id\":1", "\"id\":7"), 0);
    try (PeerImporter changed = importer("east", WEST, westTls())) {
      await(
          "refused",
          () -> changed.problem().orElse("").contains("now says it has cluster ID 1; it had ID 7"));
    } finally {
      west.put(Keys.Mesh.info("east"), recorded, 0);
    }
    // and one whose ID another peer holds
    west.put(
        Keys.Mesh.info("south"),
        new ClusterInfo("south", 1, List.of(Cidr.parse("10.99.0.0/16"))).record(),
        0);
    try (PeerImporter taken = importer("east", WEST, westTls())) {
      await(
          "refused", () -> taken.problem().orElse("").contains("cluster ID 1 is cluster south's"));
    } finally {
      west.delete(Keys.Mesh.info("south"));
    }
  }

  @Test
  @Order(5)
  void aClusterWhoseCaIsNotTrustedGetsNothing() throws Exception {
    Optional<ClusterTls> outsider =
        Optional.of(
            TestPki.foreign()
                .tlsTrusting(PeerIdentity.service("clustermesh"), EtcdTestResource.pki()));
    try (PeerImporter p = importer("east", WEST, outsider)) {
      await(
          "refused at the handshake",
          () -> p.problem().orElse("").contains("connecting to 127.0.0.1"));
      assertThat(p.problem().get()).contains("ssl");
      Thread.sleep(500);
      assertThat(p.synced()).isFalse();
    }
  }

  @Test
  @Order(6)
  void badRequestsAreRefusedNamingTheField() throws Exception {
    ManagedChannel c =
        io.porin.service.testing.TestChannels.with(
            westTls().orElseThrow(), EtcdTestResource.port, PeerIdentity.service("clustermesh"));
    try {
      var info =
          ClusterMeshGrpc.newBlockingStub(c)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .info(InfoRequest.getDefaultInstance());
      assertThat(info.getName()).isEqualTo("east");
      assertThat(info.getId()).isEqualTo(1);
      assertThat(info.getPodCidrsList()).containsExactly("10.200.0.0/16", "fd00:200::/48");
      var events =
          ClusterMeshGrpc.newBlockingStub(c)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .export(ExportRequest.newBuilder().setFromRevision(-1).build());
      assertStatus(() -> events.hasNext(), Status.Code.INVALID_ARGUMENT, "from_revision: -1");
    } finally {
      c.shutdownNow();
    }
  }

  @Test
  @Order(7)
  void aSnapshotOlderThanWhatWasImportedIsRefusedAndNothingOfItApplied() throws Exception {
    // west recorded a revision of east's that east's store does not have now (an old snapshot
    // replayed, or east's etcd restored from a backup): east answers with a snapshot of its
    // current,
    // older revision
    long ahead = east.revision() + 1000;
    west.put(Keys.Mesh.revision("east"), Long.toString(ahead), 0);
    String sentinel = Keys.Mesh.imported("east", "nodes/n1");
    west.put(sentinel, "{\"name\":\"n1\",\"newer\":true}", 0);
    try (PeerImporter p = importer("east", WEST, westTls())) {
      await(
          "refused",
          () ->
              p.problem()
                  .orElse("")
                  .contains("older than revision " + ahead + " already imported"));
      assertThat(west.get(sentinel).orElseThrow().value()).contains("newer");
      assertThat(west.get(Keys.Mesh.revision("east")).orElseThrow().value())
          .isEqualTo(Long.toString(ahead));
    } finally {
      west.delete(Keys.Mesh.revision("east"));
    }
  }

  @Test
  @Order(8)
  void aPeerCannotGrowThisClustersStoreBeyondItsQuota() throws Exception {
    PeerImporter.forget(west, "east");
    long eastKeys =
        east.list(R).entries().stream()
            .filter(e -> Keys.Mesh.exported(e.key()).isPresent())
            .count();
    assertThat(eastKeys).isGreaterThan(3);
    try (PeerImporter p =
        new PeerImporter("east", "127.0.0.1:" + EtcdTestResource.port, WEST, west, westTls())
            .maxKeys(3)
            .start()) {
      await("east imported", p::synced);
      assertThat(west.list(Keys.Mesh.importedPrefix("east")).entries()).hasSize(3);
      assertThat(p.refused()).isPositive();
      // what is refused for the quota leaves room when records go
      String gone = west.list(Keys.Mesh.importedPrefix("east")).entries().getFirst().key();
      String relative = gone.substring(Keys.Mesh.importedPrefix("east").length());
      east.delete(R + relative);
      await("the deleted record gone", () -> west.get(gone).isEmpty());
      east.put(R + "nodes/quota-late", "{\"name\":\"quota-late\"}", 0);
      await("a new record taken in its place", () -> imported("nodes/quota-late").isPresent());
      assertThat(west.list(Keys.Mesh.importedPrefix("east")).entries()).hasSize(3);
    }
  }

  @Test
  @Order(9)
  void aDisconnectRemovesEverythingImported() {
    assertThat(west.list(Keys.Mesh.ofCluster("east")).entries()).isNotEmpty();
    assertThat(PeerImporter.forget(west, "east")).isPositive();
    assertThat(west.list(Keys.Mesh.ofCluster("east")).entries()).isEmpty();
  }
}
