package io.porin.identity.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.service.tls.JoinClient;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The packaged identity service in Kubernetes mode, against the fabric8 mock API server in CRUD
 * mode (no real API server here) and a real etcd: it issues its own first certificate, turns etcd's
 * access control on, takes the collector's Lease, answers the kubelet's probes in plain HTTP, and
 * gives a node agent whose token the API server vouches for its first certificate, with which the
 * agent writes its own node's keys in etcd and no other's.
 */
@QuarkusIntegrationTest
@WithKubernetesTestServer(crud = true)
@WithTestResource(KubernetesModeResource.class)
class KubernetesModeIT {
  @KubernetesTestServer KubernetesServer server;

  @Test
  void theServiceStartsWithNothingButTheCaKeyAndAnAgentJoins() throws Exception {
    // it issued its own certificate
    ClusterTls own =
        ClusterTls.load(
            KubernetesModeResource.pki.caFile(),
            KubernetesModeResource.bundle,
            KubernetesModeResource.bundle);
    assertThat(own.self()).isEqualTo(PeerIdentity.service("identity"));

    // the probe port: plain HTTP, health only
    HttpClient http = HttpClient.newHttpClient();
    String probe = "http://127.0.0.1:" + KubernetesModeResource.probePort;
    assertThat(get(http, probe + "/q/health/ready")).isEqualTo(200);
    assertThat(get(http, probe + "/q/health/live")).isEqualTo(200);
    assertThat(get(http, probe + "/q/metrics")).isEqualTo(404);

    // the collector's Lease
    await(
        () -> {
          Lease l =
              server
                  .getClient()
                  .leases()
                  .inNamespace("porin-system")
                  .withName("porin-identity-gc")
                  .get();
          return l != null && l.getSpec().getHolderIdentity() != null;
        });

    // an agent joins
    String token = io.porin.kvstore.testing.TestTokens.jwt("agent", "porin", 600);
    server
        .getClient()
        .nodes()
        .resource(
            new io.fabric8.kubernetes.api.model.NodeBuilder()
                .withNewMetadata()
                .withName("worker-3")
                .endMetadata()
                .build())
        .create();
    String uid =
        server
            .getClient()
            .pods()
            .inNamespace("porin-system")
            .resource(
                new PodBuilder()
                    .withNewMetadata()
                    .withName("porin-agent-q7x")
                    .endMetadata()
                    .withNewSpec()
                    .withServiceAccountName("porin-agent")
                    .withNodeName("worker-3")
                    .endSpec()
                    .build())
            .create()
            .getMetadata()
            .getUid();
    // the API server vouches for this token only: the agent's pod's
    io.porin.identity.join.ScriptedTokenReviews.answer(
        server.expect(),
        t ->
            t.equals(token)
                ? java.util.Optional.of(
                    io.porin.identity.join.ScriptedTokenReviews.Who.account(
                        "porin-system", "porin-agent", "porin", "porin-agent-q7x", uid))
                : java.util.Optional.empty());
    Path dir = Files.createTempDirectory(Path.of("target"), "agent-");
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, token);
    Path bundle = dir.resolve("bundle.pem");
    new JoinClient(
            "127.0.0.1:" + KubernetesModeResource.joinPort,
            tokenFile,
            KubernetesModeResource.pki.caFile(),
            Duration.ofSeconds(30),
            m -> {})
        .obtain(bundle);
    ClusterTls agent = ClusterTls.load(KubernetesModeResource.pki.caFile(), bundle, bundle);
    assertThat(agent.self()).isEqualTo(PeerIdentity.node("worker-3"));
    try (KvStore kv =
        KvStore.connect(
            List.of(KubernetesModeResource.etcd.endpoint()), Duration.ofSeconds(5), agent)) {
      kv.put("/porin/v1/nodes/worker-3", "{}", 0);
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> kv.put("/porin/v1/nodes/worker-4", "{}", 0))
          .isInstanceOf(KvStoreException.class);
    }
  }

  static int get(HttpClient http, String url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(url)).GET().build(),
            HttpResponse.BodyHandlers.ofString())
        .statusCode();
  }

  static void await(java.util.concurrent.Callable<Boolean> condition) throws Exception {
    Instant deadline = Instant.now().plusSeconds(30);
    while (!condition.call()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out");
      }
      Thread.sleep(100);
    }
  }
}
