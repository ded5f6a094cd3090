package io.porin.policy.grpc;

import static io.porin.service.testing.GrpcAssertions.assertStatus;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.porin.api.policy.v1.Ack;
import io.porin.api.policy.v1.Direction;
import io.porin.api.policy.v1.DirectionPatch;
import io.porin.api.policy.v1.DirectionPolicy;
import io.porin.api.policy.v1.GetRequest;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.ListRequest;
import io.porin.api.policy.v1.ListResponse;
import io.porin.api.policy.v1.NodeAck;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.api.policy.v1.PolicyEntry;
import io.porin.api.policy.v1.PolicyStatus;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.api.policy.v1.SubscribeRequest;
import io.porin.api.policy.v1.Subscription;
import io.porin.api.policy.v1.TraceEndpoint;
import io.porin.api.policy.v1.TraceRequest;
import io.porin.api.policy.v1.TraceResponse;
import io.porin.api.policy.v1.Verdict;
import io.porin.api.policy.v1.WaitRequest;
import io.porin.api.policy.v1.WaitResponse;
import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ApplyResponse;
import io.porin.api.resource.v1.DeleteRequest;
import io.porin.api.resource.v1.Outcome;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.api.resource.v1.Result;
import io.porin.kvstore.KvStore;
import io.porin.policy.EtcdResource;
import io.porin.policy.Identities;
import io.porin.service.testing.TestHttp;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The packaged policy service against a real etcd: apply the three-tier app and its policies, a
 * node subscribes for the three pods' identities and receives them, acknowledges, and {@code Wait}
 * sees it; a change arrives as a delta; trace explains verdicts.
 */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyServiceIT {
  static final int FRONTEND = 65536 + 300;
  static final int API = 65536 + 301;
  static final int DATABASE = 65536 + 302;

  static ManagedChannel channel;
  static KvStore kv;
  static Node node;

  /** A node agent's side of the stream. */
  static final class Node implements StreamObserver<PolicyUpdate> {
    final BlockingQueue<PolicyUpdate> received = new LinkedBlockingQueue<>();

    /** What the node holds, as an agent would: identity -> direction -> peer -> entries. */
    final Map<Integer, Map<Direction, Map<Integer, List<PolicyEntry>>>> held =
        new java.util.concurrent.ConcurrentHashMap<>();

    StreamObserver<SubscribeRequest> requests;

    @Override
    public void onNext(PolicyUpdate u) {
      switch (u.getType()) {
        case SNAPSHOT, UPSERT -> {
          Map<Direction, Map<Integer, List<PolicyEntry>>> m = new java.util.HashMap<>();
          for (DirectionPolicy d : List.of(u.getPolicy().getIngress(), u.getPolicy().getEgress())) {
            Map<Integer, List<PolicyEntry>> byPeer = new java.util.HashMap<>();
            for (PolicyEntry e : d.getEntriesList()) {
              byPeer.computeIfAbsent(e.getPeer(), k -> new ArrayList<>()).add(e);
            }
            m.put(d.getDirection(), byPeer);
          }
          held.put(u.getIdentity(), m);
        }
        case PATCH -> {
          for (DirectionPatch d : List.of(u.getPatch().getIngress(), u.getPatch().getEgress())) {
            Map<Integer, List<PolicyEntry>> byPeer =
                held.get(u.getIdentity()).get(d.getDirection());
            d.getReplacedPeersList().forEach(byPeer::remove);
            for (PolicyEntry e : d.getEntriesList()) {
              byPeer.computeIfAbsent(e.getPeer(), k -> new ArrayList<>()).add(e);
            }
          }
        }
        case REMOVE -> held.remove(u.getIdentity());
        default -> {}
      }
      received.add(u);
    }

    /** The held entries of one identity and direction, as a set. */
    java.util.Set<PolicyEntry> entries(int identity, Direction d) {
      java.util.Set<PolicyEntry> out = new java.util.HashSet<>();
      held.get(identity).get(d).values().forEach(out::addAll);
      return out;
    }

    @Override
    public void onError(Throwable t) {}

    volatile boolean completed;

    @Override
    public void onCompleted() {
      completed = true;
    }

    void subscribe(String name, int... ids) {
      Subscription.Builder s = Subscription.newBuilder().setNode(name);
      for (int id : ids) {
        s.addIdentities(id);
      }
      requests.onNext(SubscribeRequest.newBuilder().setSubscription(s).build());
    }

    void ack(long revision) {
      requests.onNext(
          SubscribeRequest.newBuilder().setAck(Ack.newBuilder().setRevision(revision)).build());
    }

    /** Updates until (and including) the next SYNCED. */
    List<PolicyUpdate> untilSynced() throws InterruptedException {
      List<PolicyUpdate> out = new ArrayList<>();
      while (true) {
        PolicyUpdate u = received.poll(10, TimeUnit.SECONDS);
        assertThat(u).as("an update within 10 s (got %s)", out).isNotNull();
        out.add(u);
        if (u.getType() == PolicyUpdate.Type.SYNCED) {
          return out;
        }
      }
    }
  }

  @BeforeAll
  static void connect() {
    channel = io.porin.service.testing.TestChannels.admin(EtcdResource.port, "policy");
    kv = EtcdResource.etcd.connect();
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    if (node != null && node.requests != null) {
      node.requests.onCompleted();
    }
    kv.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static PoliciesGrpc.PoliciesBlockingStub policies() {
    return PoliciesGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  static ResourcesGrpc.ResourcesBlockingStub resources() {
    return ResourcesGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  static ApplyResponse apply(String file) throws Exception {
    return resources()
        .apply(
            ApplyRequest.newBuilder()
                .setText(Files.readString(Path.of("../../examples", file)))
                .build());
  }

  /** A process without the cluster's certificate gets a failed handshake, nothing else. */
  @Test
  @org.junit.jupiter.api.Order(0)
  void onlyTheClusterIsServed() throws Exception {
    io.porin.service.testing.TlsRefusals.assertOnlyTheClusterIsServed(EtcdResource.port, "policy");
  }

  @Test
  @Order(1)
  void applyValidatesStoresAndReports() throws Exception {
    ApplyResponse app = apply("50-three-tier-app.yaml");
    assertThat(app.getResultsList())
        .extracting(Result::getOutcome)
        .containsOnly(Outcome.CREATED)
        .hasSize(6);
    ApplyResponse pol = apply("51-three-tier-policies.yaml");
    assertThat(pol.getResultsList())
        .extracting(Result::getOutcome)
        .containsOnly(Outcome.CREATED)
        .hasSize(6);
    assertThat(apply("51-three-tier-policies.yaml").getResultsList())
        .extracting(Result::getOutcome)
        .containsOnly(Outcome.UNCHANGED);
    ApplyResponse mixed = apply("seed/00-zero-trust-namespace-isolation.yaml");
    assertThat(mixed.getResultsList())
        .extracting(r -> r.getRef().getName() + " " + r.getOutcome())
        .containsExactly(
            "default-deny-all CREATED", "allow-dns REFUSED", "frontend-to-backend REFUSED");
    assertThat(mixed.getResults(1).getMessage())
        .contains(
            "production/allow-dns: Porin does not enforce this yet, so the policy is not applied")
        .contains("spec.egress[0].toPorts[0].rules.dns");
    ApplyResponse bad = apply("seed/09-zero-trust-identity-audit.yaml");
    assertThat(bad.getResultsList())
        .extracting(r -> r.getRef().getName() + " " + r.getOutcome())
        .containsExactly(
            "default-deny CREATED", "allow-by-identity CREATED", "audit-mode-policy REFUSED");
    assertThat(bad.getResults(2).getMessage())
        .startsWith("production/audit-mode-policy: spec: is empty");
  }

  @Test
  @Order(2)
  void aNodeReceivesItsIdentitiesPoliciesAndWaitSeesTheAck() throws Exception {
    Map<String, String> ns = Map.of();
    Identities.put(
        kv, FRONTEND, Identities.podLabels("demo", Map.of("app", "frontend", "tier", "web"), ns));
    Identities.put(
        kv, API, Identities.podLabels("demo", Map.of("app", "api", "tier", "backend"), ns));
    Identities.put(
        kv, DATABASE, Identities.podLabels("demo", Map.of("app", "database", "tier", "data"), ns));
    // The engine picks the identities up; wait until the pods resolve to them.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        policies().get(GetRequest.newBuilder().setPod("demo/database").build());
        break;
      } catch (io.grpc.StatusRuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
    node = new Node();
    node.requests = PoliciesGrpc.newStub(channel).subscribe(node);
    node.subscribe("node-1", FRONTEND, API, DATABASE);
    List<PolicyUpdate> snapshot = node.untilSynced();
    assertThat(snapshot)
        .filteredOn(u -> u.getType() == PolicyUpdate.Type.SNAPSHOT)
        .extracting(PolicyUpdate::getIdentity)
        .containsExactlyInAnyOrder(FRONTEND, API, DATABASE);
    IdentityPolicy db =
        snapshot.stream()
            .filter(u -> u.getIdentity() == DATABASE)
            .findFirst()
            .orElseThrow()
            .getPolicy();
    assertThat(db.getIngress().getEnforced()).isTrue();
    assertThat(db.getIngress().getEntriesList())
        .anySatisfy(
            e -> {
              assertThat(e.getPeer()).isEqualTo(API);
              assertThat(e.getPort()).isEqualTo(5432);
              assertThat(e.getRules(0).getPolicy().getName()).isEqualTo("api-to-database");
            });
    long revision = snapshot.getLast().getRevision();
    WaitResponse before = policies().wait(WaitRequest.newBuilder().setTimeoutMillis(300).build());
    assertThat(before.getReached()).isFalse();
    assertThat(before.getNodes(0).getNode()).isEqualTo("node-1");
    node.ack(revision);
    WaitResponse after = policies().wait(WaitRequest.newBuilder().setTimeoutMillis(10_000).build());
    assertThat(after.getReached()).isTrue();
    assertThat(after.getNodes(0).getAcknowledged()).isEqualTo(revision);
  }

  @Test
  @Order(3)
  void traceNamesTheRulesAndTheDefaultDeny() {
    TraceResponse ok = trace("demo/frontend", "demo/api", 3000);
    assertThat(ok.getVerdict()).isEqualTo(Verdict.ALLOW);
    assertThat(ok.getEgress().getExplanation())
        .isEqualTo("allowed by demo/frontend-egress egress[0]");
    assertThat(ok.getIngress().getExplanation())
        .isEqualTo("allowed by demo/frontend-to-api ingress[0]");
    TraceResponse blocked = trace("demo/frontend", "demo/database", 5432);
    assertThat(blocked.getVerdict()).isEqualTo(Verdict.DENY);
    assertThat(blocked.getEgress().getExplanation())
        .isEqualTo(
            "denied by default deny (no rule allows it), enabled by demo/allow-dns,"
                + " demo/default-deny, demo/frontend-egress");
    assertThat(blocked.getIngress().getExplanation())
        .isEqualTo(
            "denied by default deny (no rule allows it), enabled by demo/api-to-database,"
                + " demo/default-deny");
    assertStatus(
        () ->
            policies()
                .trace(
                    TraceRequest.newBuilder()
                        .setFrom(TraceEndpoint.newBuilder().setPod("demo/frontend"))
                        .setTo(TraceEndpoint.newBuilder().setIp("not-an-ip"))
                        .setProtocol("tcp")
                        .build()),
        Status.Code.INVALID_ARGUMENT,
        "to.ip: \"not-an-ip\" is not an IP address");
    assertStatus(
        () -> trace("demo/frontend", "demo/api", 80, "gre"),
        Status.Code.INVALID_ARGUMENT,
        "protocol: \"gre\" is not tcp, udp, sctp, icmp or icmpv6");
    assertStatus(
        () -> trace("demo/nobody", "demo/api", 80, "tcp"),
        Status.Code.NOT_FOUND,
        "from.pod: pod demo/nobody is not known");
  }

  @Test
  @Order(4)
  void aChangeArrivesAsADeltaAndWaitFollowsTheAck() throws Exception {
    resources()
        .apply(
            ApplyRequest.newBuilder()
                .setText(
                    """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: frontend-to-database, namespace: demo}
                    spec:
                      endpointSelector: {matchLabels: {app: database}}
                      ingress:
                      - fromEndpoints: [{matchLabels: {app: frontend}}]
                        toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
                    """)
                .build());
    List<PolicyUpdate> delta = node.untilSynced();
    assertThat(delta)
        .as("%s", delta.stream().map(u -> u.getType() + " " + u.getIdentity()).toList())
        .filteredOn(u -> u.getType() == PolicyUpdate.Type.PATCH)
        .extracting(PolicyUpdate::getIdentity)
        .containsExactly(DATABASE);
    // Only the peer whose entries changed travels: frontend, now allowed on 5432.
    io.porin.api.policy.v1.DirectionPatch in =
        delta.stream()
            .filter(u -> u.getType() == PolicyUpdate.Type.PATCH)
            .findFirst()
            .orElseThrow()
            .getPatch()
            .getIngress();
    assertThat(in.getReplacedPeersList()).containsExactly(FRONTEND);
    assertThat(in.getEntriesList()).extracting(PolicyEntry::getPort).containsOnly(5432);
    assertThat(node.entries(DATABASE, Direction.INGRESS))
        .isEqualTo(
            new java.util.HashSet<>(
                policies()
                    .get(GetRequest.newBuilder().setIdentity(DATABASE).build())
                    .getIngress()
                    .getEntriesList()));
    long revision = delta.getLast().getRevision();
    assertThat(trace("demo/frontend", "demo/database", 5432).getIngress().getVerdict())
        .isEqualTo(Verdict.ALLOW);
    assertThat(policies().wait(WaitRequest.newBuilder().setTimeoutMillis(200).build()).getReached())
        .isFalse();
    node.ack(revision);
    assertThat(
            policies().wait(WaitRequest.newBuilder().setTimeoutMillis(10_000).build()).getReached())
        .isTrue();

    resources()
        .delete(
            DeleteRequest.newBuilder()
                .addRefs(
                    io.porin.api.resource.v1.ResourceRef.newBuilder()
                        .setKind("cnp")
                        .setNamespace("demo")
                        .setName("frontend-to-database"))
                .build());
    assertThat(node.untilSynced())
        .filteredOn(u -> u.getType() == PolicyUpdate.Type.PATCH)
        .extracting(PolicyUpdate::getIdentity)
        .containsExactly(DATABASE);
    for (int id : List.of(FRONTEND, API, DATABASE)) {
      IdentityPolicy now = policies().get(GetRequest.newBuilder().setIdentity(id).build());
      for (DirectionPolicy d : List.of(now.getIngress(), now.getEgress())) {
        assertThat(node.entries(id, d.getDirection()))
            .as("identity %d %s: snapshot plus patches = the service's state", id, d.getDirection())
            .isEqualTo(new java.util.HashSet<>(d.getEntriesList()));
      }
    }
  }

  @Test
  @Order(5)
  void resubscribingYieldsTheFullState() throws Exception {
    node.subscribe("node-1", DATABASE);
    List<PolicyUpdate> again = node.untilSynced();
    assertThat(again)
        .filteredOn(u -> u.getType() == PolicyUpdate.Type.SNAPSHOT)
        .extracting(PolicyUpdate::getIdentity)
        .containsExactly(DATABASE);
  }

  @Test
  @Order(7)
  void aNewStreamOfTheSameNodeEndsTheOldOne() throws Exception {
    // An agent killed without closing its stream comes back with a new one: the node is one.
    Node restarted = new Node();
    restarted.requests = PoliciesGrpc.newStub(channel).subscribe(restarted);
    restarted.subscribe("node-1", DATABASE);
    restarted.untilSynced();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!node.completed && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(node.completed).as("the old stream was ended").isTrue();
    WaitResponse w = policies().wait(WaitRequest.newBuilder().setTimeoutMillis(200).build());
    assertThat(w.getNodesList()).extracting(NodeAck::getNode).containsExactly("node-1");
    restarted.requests.onCompleted();
  }

  @Test
  @Order(6)
  void listShowsValidAndRefusedPoliciesAndReadinessIsUp() {
    ListResponse l = policies().list(ListRequest.getDefaultInstance());
    assertThat(l.getSynced()).isTrue();
    assertThat(l.getPoliciesList())
        .extracting(
            p -> p.getPolicy().getNamespace() + "/" + p.getPolicy().getName() + " " + p.getState())
        .contains(
            "demo/default-deny valid",
            "demo/api-egress valid",
            "production/default-deny-all valid");
    PolicyStatus dd =
        l.getPoliciesList().stream()
            .filter(
                p ->
                    p.getPolicy().getName().equals("default-deny")
                        && p.getPolicy().getNamespace().equals("demo"))
            .findFirst()
            .orElseThrow();
    assertThat(dd.getSelectedIdentities()).isEqualTo(3);
    assertThat(TestHttp.get(EtcdResource.port, "policy", "/q/health/ready"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
              assertThat(r.body()).contains("\"synced\": true");
            });
    assertThat(TestHttp.get(EtcdResource.port, "policy", "/q/metrics"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
              assertThat(r.body()).contains("porin_policy_update_seconds_count");
              assertThat(r.body()).contains("porin_policy_subscribers");
            });
  }

  @Test
  @Order(8)
  void identitiesImportedFromAnotherClusterArePeersLikeLocalOnes() throws Exception {
    // api pods of cluster "west" (ID 2), imported by the clustermesh service
    int remoteApi = 2 << 16 | 301;
    String westApi =
        io.porin.core.labels.LabelFilter.defaults()
            .filter(
                io.porin.core.resource.EndpointLabels.all(
                    "west", "demo", Map.of("app", "api", "tier", "backend"), Map.of()))
            .identityLabels()
            .canonical();
    Node n = new Node();
    n.requests = PoliciesGrpc.newStub(channel).subscribe(n);
    n.subscribe("node-2", DATABASE);
    n.untilSynced();
    kv.put(
        io.porin.kvstore.Keys.Mesh.info("west"),
        new io.porin.core.mesh.ClusterInfo(
                "west", 2, java.util.List.of(io.porin.core.ipam.Cidr.parse("10.201.0.0/16")))
            .record(),
        0);
    kv.put(io.porin.kvstore.Keys.Mesh.imported("west", "identities/id/" + remoteApi), westApi, 0);
    // labels posing as this cluster's pods ("default") are not believed either
    int posing = 2 << 16 | 302;
    String asLocal = Identities.podLabels("demo", Map.of("app", "api"), Map.of()).canonical();
    kv.put(io.porin.kvstore.Keys.Mesh.imported("west", "identities/id/" + posing), asLocal, 0);
    // a peer's record claiming one of this cluster's identities (ID 1) is not believed
    int claimed = 65536 + 999;
    kv.put(io.porin.kvstore.Keys.Mesh.imported("west", "identities/id/" + claimed), westApi, 0);
    // a selector without a cluster (api-to-database: app=api) selects them too
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (n.entries(DATABASE, Direction.INGRESS).stream()
        .noneMatch(e -> e.getPeer() == remoteApi && e.getPort() == 5432)) {
      assertThat(System.nanoTime())
          .as("the remote api as a peer of the database")
          .isLessThan(deadline);
      n.received.poll(200, TimeUnit.MILLISECONDS);
    }
    assertThat(n.entries(DATABASE, Direction.INGRESS))
        .noneMatch(e -> e.getPeer() == claimed || e.getPeer() == posing);
    // gone from the mesh, gone from the policy
    kv.delete(io.porin.kvstore.Keys.Mesh.imported("west", "identities/id/" + remoteApi));
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (n.entries(DATABASE, Direction.INGRESS).stream()
        .anyMatch(e -> e.getPeer() == remoteApi)) {
      assertThat(System.nanoTime()).as("the remote api gone").isLessThan(deadline);
      n.received.poll(200, TimeUnit.MILLISECONDS);
    }
    n.requests.onCompleted();
  }

  static TraceResponse trace(String from, String to, int port) {
    return trace(from, to, port, "tcp");
  }

  static TraceResponse trace(String from, String to, int port, String protocol) {
    return policies()
        .trace(
            TraceRequest.newBuilder()
                .setFrom(TraceEndpoint.newBuilder().setPod(from))
                .setTo(TraceEndpoint.newBuilder().setPod(to))
                .setPort(port)
                .setProtocol(protocol)
                .build());
  }
}
