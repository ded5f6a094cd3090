package io.porin.policy.source;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.porin.core.policy.Direction;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import io.porin.core.resource.ResourceKind;
import io.porin.kvstore.KvStore;
import io.porin.policy.Identities;
import io.porin.policy.KubernetesEtcdResource;
import io.porin.policy.compile.PolicyEngine;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes source, against the fabric8 mock API server in CRUD mode (no real API server is
 * available here): Namespaces, Pods, a NetworkPolicy and a CiliumNetworkPolicy created through the
 * Kubernetes client reach the compiled policy; an update and a delete follow.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@WithTestResource(KubernetesEtcdResource.class)
class KubernetesSourceIT {
  static final int WEB = 65536 + 400;
  static final int CLIENT = 65536 + 401;

  @Inject KubernetesClient client;
  @Inject PolicyEngine engine;

  @Test
  void kubernetesPoliciesAndPodsAreCompiled() throws Exception {
    try (KvStore kv = KubernetesEtcdResource.etcd.connect()) {
      client
          .namespaces()
          .resource(
              new NamespaceBuilder()
                  .withNewMetadata()
                  .withName("shop")
                  .addToLabels("team", "blue")
                  .endMetadata()
                  .build())
          .create();
      client
          .pods()
          .inNamespace("shop")
          .resource(
              new PodBuilder()
                  .withNewMetadata()
                  .withName("web")
                  .addToLabels("app", "web")
                  .endMetadata()
                  .withNewSpec()
                  .addNewContainer()
                  .withName("c")
                  .addNewPort()
                  .withName("http")
                  .withContainerPort(8080)
                  .endPort()
                  .endContainer()
                  .endSpec()
                  .build())
          .create();
      client
          .pods()
          .inNamespace("shop")
          .resource(
              new PodBuilder()
                  .withNewMetadata()
                  .withName("client")
                  .addToLabels("app", "client")
                  .endMetadata()
                  .withNewSpec()
                  .addNewContainer()
                  .withName("c")
                  .endContainer()
                  .endSpec()
                  .build())
          .create();
      Map<String, String> ns = Map.of("team", "blue");
      Identities.put(kv, WEB, Identities.podLabels("shop", Map.of("app", "web"), ns));
      Identities.put(kv, CLIENT, Identities.podLabels("shop", Map.of("app", "client"), ns));

      client
          .network()
          .v1()
          .networkPolicies()
          .inNamespace("shop")
          .resource(
              Serialization.unmarshal(
                  """
              apiVersion: networking.k8s.io/v1
              kind: NetworkPolicy
              metadata: {name: web-http, namespace: shop}
              spec:
                podSelector: {matchLabels: {app: web}}
                ingress:
                - from: [{podSelector: {matchLabels: {app: client}}}]
                  ports: [{port: http}]
              """,
                  NetworkPolicy.class))
          .create();
      awaitPolicy(WEB, p -> verdict(p, 8080) == Verdict.ALLOW && verdict(p, 9090) == Verdict.DENY);

      GenericKubernetesResource cnp =
          Serialization.unmarshal(
              """
          apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: no-8080, namespace: shop}
          spec:
            endpointSelector: {matchLabels: {app: web}}
            ingressDeny:
            - fromEndpoints: [{matchLabels: {app: client}}]
              toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
          """,
              GenericKubernetesResource.class);
      client
          .genericKubernetesResources(KubernetesSource.context(ResourceKind.CILIUM_NETWORK_POLICY))
          .inNamespace("shop")
          .resource(cnp)
          .create();
      awaitPolicy(WEB, p -> verdict(p, 8080) == Verdict.DENY);

      client
          .genericKubernetesResources(KubernetesSource.context(ResourceKind.CILIUM_NETWORK_POLICY))
          .inNamespace("shop")
          .withName("no-8080")
          .delete();
      awaitPolicy(WEB, p -> verdict(p, 8080) == Verdict.ALLOW);

      client.network().v1().networkPolicies().inNamespace("shop").withName("web-http").delete();
      awaitPolicy(WEB, p -> !p.ingress().enforced());
    }
  }

  @Test
  void kubernetesServicesBecomeServiceRecordsWithTheirPodsAsBackends() throws Exception {
    try (KvStore kv = KubernetesEtcdResource.etcd.connect()) {
      client
          .namespaces()
          .resource(
              new NamespaceBuilder().withNewMetadata().withName("store").endMetadata().build())
          .createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
      client
          .pods()
          .inNamespace("store")
          .resource(
              new PodBuilder()
                  .withNewMetadata()
                  .withName("api-1")
                  .addToLabels("app", "api")
                  .endMetadata()
                  .withNewSpec()
                  .addNewContainer()
                  .withName("c")
                  .addNewPort()
                  .withName("http")
                  .withContainerPort(8080)
                  .endPort()
                  .endContainer()
                  .endSpec()
                  .build())
          .create();
      // the API server allocates cluster IPs; the mock server does not, so the test does
      client
          .services()
          .inNamespace("store")
          .resource(
              Serialization.unmarshal(
                  """
                  apiVersion: v1
                  kind: Service
                  metadata: {name: api, namespace: store}
                  spec:
                    clusterIP: 10.96.7.7
                    clusterIPs: [10.96.7.7]
                    selector: {app: api}
                    ports: [{name: web, port: 80, targetPort: http}]
                  """,
                  io.fabric8.kubernetes.api.model.Service.class))
          .create();
      // the agent hosting api-1 publishes its address
      kv.put(
          io.porin.kvstore.Keys.Endpoints.endpoint("n1", "10.200.9.9"),
          "{\"ip\":\"10.200.9.9\",\"identity\":70000,\"node\":\"n1\",\"namespace\":\"store\","
              + "\"pod\":\"api-1\",\"endpointId\":3}",
          0);
      String key = io.porin.kvstore.Keys.Services.service("store", "api");
      io.porin.core.service.ServiceRecord r = awaitRecord(kv, key, x -> !x.backends().isEmpty());
      org.assertj.core.api.Assertions.assertThat(r.clusterIPs()).containsExactly("10.96.7.7");
      org.assertj.core.api.Assertions.assertThat(r.backends().getFirst().addresses())
          .containsExactly("10.200.9.9");
      org.assertj.core.api.Assertions.assertThat(r.backends().getFirst().ports())
          .containsExactly(8080);
      client.services().inNamespace("store").withName("api").delete();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (kv.get(key).isPresent() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      org.assertj.core.api.Assertions.assertThat(kv.get(key))
          .as("the deleted service's record")
          .isEmpty();
    }
  }

  private static io.porin.core.service.ServiceRecord awaitRecord(
      KvStore kv, String key, Predicate<io.porin.core.service.ServiceRecord> until)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    io.porin.core.service.ServiceRecord last = null;
    while (System.nanoTime() < deadline) {
      var e = kv.get(key);
      if (e.isPresent()) {
        last = io.porin.core.service.ServiceRecord.parse(e.get().value());
        if (until.test(last)) {
          return last;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError(key + " never matched; last: " + last);
  }

  private static Verdict verdict(IdentityPolicy p, int port) {
    return p.direction(Direction.INGRESS).decide(CLIENT, null, null, Protocol.TCP, port).verdict();
  }

  private void awaitPolicy(int identity, Predicate<IdentityPolicy> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      IdentityPolicy p = engine.state().policies().get(identity);
      if (p != null && condition.test(p)) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError(
        "identity "
            + identity
            + " never reached the expected policy; last: "
            + engine.state().policies().get(identity));
  }
}
