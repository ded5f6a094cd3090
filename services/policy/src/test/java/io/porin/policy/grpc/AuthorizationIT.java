package io.porin.policy.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.api.policy.v1.SubscribeRequest;
import io.porin.api.policy.v1.Subscription;
import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.policy.EtcdResource;
import io.porin.policy.Identities;
import io.porin.service.testing.EtcdTestResource;
import io.porin.service.testing.TestChannels;
import io.porin.service.testing.TestHttp;
import io.porin.service.tls.RevocationWatch;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
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
 * The packaged policy service decides by certificate: a node subscribes (and so acks) for itself
 * only, a reader never applies, both refusals counted; the service's certificate is renewed under a
 * live stream without dropping it; revoking a node ends its stream and refuses it from then on.
 */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthorizationIT {
  static final PeerIdentity POLICY = PeerIdentity.service("policy");
  static final int WEB = 65536 + 400;
  static ManagedChannel admin;
  static KvStore kv;

  /** One node agent's stream: what arrives, and how it ended. */
  static final class Stream implements StreamObserver<PolicyUpdate> {
    final BlockingQueue<PolicyUpdate> received = new LinkedBlockingQueue<>();
    final ManagedChannel channel;
    volatile Throwable error;
    volatile boolean completed;
    StreamObserver<SubscribeRequest> requests;

    Stream(PeerIdentity as, String node, int... identities) {
      channel = TestChannels.as(as, EtcdResource.port, POLICY);
      requests = PoliciesGrpc.newStub(channel).subscribe(this);
      Subscription.Builder s = Subscription.newBuilder().setNode(node);
      for (int id : identities) {
        s.addIdentities(id);
      }
      requests.onNext(SubscribeRequest.newBuilder().setSubscription(s).build());
    }

    @Override
    public void onNext(PolicyUpdate u) {
      received.add(u);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onCompleted() {
      completed = true;
    }

    PolicyUpdate nextSynced() throws InterruptedException {
      while (true) {
        PolicyUpdate u = received.poll(10, TimeUnit.SECONDS);
        assertThat(u).as("an update within 10 s (error: %s)", error).isNotNull();
        if (u.getType() == PolicyUpdate.Type.SYNCED) {
          return u;
        }
      }
    }

    Throwable awaitError() throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (error == null && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      return error;
    }

    void close() {
      channel.shutdownNow();
    }
  }

  @BeforeAll
  static void connect() throws Exception {
    admin = TestChannels.admin(EtcdResource.port, "policy");
    kv = EtcdResource.etcd.connect();
    // a namespace of its own: the other ITs of this service share its etcd and count demo's
    Identities.put(kv, WEB, Identities.podLabels("authz", Map.of("app", "web"), Map.of()));
  }

  @AfterAll
  static void close() throws InterruptedException {
    kv.close();
    admin.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static double denied(String action) {
    return TestHttp.get(EtcdResource.port, "policy", "/q/metrics")
        .body()
        .lines()
        .filter(l -> l.startsWith("porin_authz_denied_total{") && l.contains(action))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }

  static void applyAs(ManagedChannel c, String yaml) {
    ResourcesGrpc.newBlockingStub(c)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .apply(ApplyRequest.newBuilder().setText(yaml).build());
  }

  /** The certificate the service shows to a new connection now. */
  static X509Certificate serverCertificate() throws Exception {
    ClusterTls t = EtcdTestResource.pki().tls(io.porin.kvstore.testing.TestPki.ADMIN);
    try (HttpClient c =
        HttpClient.newBuilder()
            .sslContext(t.clientContext(ClusterTls.exactly(POLICY), "svc/policy"))
            .build()) {
      HttpResponse<Void> r =
          c.send(
              HttpRequest.newBuilder(
                      URI.create("https://127.0.0.1:" + EtcdResource.port + "/q/health/live"))
                  .build(),
              HttpResponse.BodyHandlers.discarding());
      return (X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0];
    }
  }

  @Test
  @Order(1)
  void aNodeSubscribesForItselfOnlyAndAReaderNeverApplies() throws Exception {
    double before = denied("subscribe to policy");
    Stream impostor = new Stream(PeerIdentity.node("n1"), "n2", WEB);
    try {
      Throwable e = impostor.awaitError();
      assertThat(e).isInstanceOf(StatusRuntimeException.class);
      Status s = ((StatusRuntimeException) e).getStatus();
      assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(s.getDescription())
          .contains("node/n1")
          .contains("subscribe to policy for node n2");
      assertThat(denied("subscribe to policy")).isEqualTo(before + 1);
    } finally {
      impostor.close();
    }
    ManagedChannel reader =
        TestChannels.as(
            new PeerIdentity(PeerIdentity.Kind.READER, "dash"), EtcdResource.port, POLICY);
    try {
      assertThatThrownBy(
              () ->
                  applyAs(
                      reader, Files.readString(Path.of("../../examples/50-three-tier-app.yaml"))))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              x -> {
                assertThat(x.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                assertThat(x.getStatus().getDescription())
                    .contains("reader/dash")
                    .contains("porin.resource.v1.Resources/Apply");
              });
      assertThat(denied("porin.resource.v1.Resources/Apply")).isEqualTo(1);
    } finally {
      reader.shutdownNow();
    }
  }

  @Test
  @Order(2)
  void renewingTheServiceCertificateKeepsALiveStream() throws Exception {
    Stream n2 = new Stream(PeerIdentity.node("n2"), "n2", WEB);
    try {
      long first = n2.nextSynced().getRevision();
      BigInteger before = serverCertificate().getSerialNumber();
      // what the service's renewal does: a new bundle in place of the old one, atomically
      EtcdTestResource.pki().reissue(POLICY, Duration.ofHours(2));
      BigInteger after = before;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (after.equals(before) && System.nanoTime() < deadline) {
        Thread.sleep(200);
        after = serverCertificate().getSerialNumber();
      }
      assertThat(after).as("new connections see the renewed certificate").isNotEqualTo(before);
      // and the client side renews too, under the same stream
      EtcdTestResource.pki().reissue(PeerIdentity.node("n2"), Duration.ofHours(2));
      applyAs(
          admin,
          """
          apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: web-in, namespace: authz}
          spec:
            endpointSelector: {matchLabels: {app: web}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: web}}]
          """);
      long next = n2.nextSynced().getRevision();
      assertThat(next).as("the old stream still receives").isGreaterThan(first);
      assertThat(n2.error).isNull();
      assertThat(n2.completed).isFalse();
    } finally {
      n2.requests.onCompleted();
      n2.close();
    }
  }

  @Test
  @Order(3)
  void revokingANodeEndsItsStreamAndRefusesIt() throws Exception {
    Stream n1 = new Stream(PeerIdentity.node("n1"), "n1", WEB);
    Stream n2 = new Stream(PeerIdentity.node("n2"), "n2", WEB);
    try {
      n1.nextSynced();
      n2.nextSynced();
      kv.put(
          Keys.Revocations.of("node", "n1"),
          RevocationWatch.encode(Instant.now(), "admin/test"),
          0);
      Throwable e = n1.awaitError();
      assertThat(e).as("the revoked node's stream ends").isInstanceOf(StatusRuntimeException.class);
      assertThat(((StatusRuntimeException) e).getStatus().getCode())
          .isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(((StatusRuntimeException) e).getStatus().getDescription()).contains("revoked");
      Stream again = new Stream(PeerIdentity.node("n1"), "n1", WEB);
      try {
        assertThat(again.awaitError()).isInstanceOf(StatusRuntimeException.class);
      } finally {
        again.close();
      }
      // another node's stream is untouched
      assertThat(n2.error).isNull();
    } finally {
      n1.close();
      n2.requests.onCompleted();
      n2.close();
    }
  }
}
