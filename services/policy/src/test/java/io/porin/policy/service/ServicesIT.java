package io.porin.policy.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ApplyResponse;
import io.porin.api.resource.v1.DeleteRequest;
import io.porin.api.resource.v1.Outcome;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.policy.EtcdResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The packaged policy service against a real etcd: Services get cluster IPs and node ports at apply
 * time (requested ones checked, duplicates refused naming the holder, nothing half-written), and
 * the service controller publishes each service's record from the selected pods and the endpoints
 * the agents publish (faked here by writing them), terminating while a deleted pod's address is
 * still published.
 */
@QuarkusIntegrationTest
@WithTestResource(EtcdResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServicesIT {
  static ManagedChannel channel;
  static KvStore kv;

  @BeforeAll
  static void connect() {
    channel = io.porin.service.testing.TestChannels.admin(EtcdResource.port, "policy");
    kv = EtcdResource.etcd.connect();
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    kv.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static ResourcesGrpc.ResourcesBlockingStub resources() {
    return ResourcesGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  static ApplyResponse apply(String yaml) {
    return resources().apply(ApplyRequest.newBuilder().setText(yaml).build());
  }

  static final String NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n";

  static String pod(String name, String app) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: "
        + name
        + ", namespace: shop, labels: {app: "
        + app
        + "}}\nspec:\n  containers:\n  - name: c\n    ports:\n    - {name: http, containerPort: 8080}\n";
  }

  static String service(String name, String extra) {
    return "apiVersion: v1\nkind: Service\nmetadata: {name: "
        + name
        + ", namespace: shop}\nspec:\n  selector: {app: "
        + name
        + "}\n"
        + extra
        + "  ports:\n  - {name: web, port: 80, targetPort: http}\n";
  }

  static void endpoint(String pod, String ip) {
    kv.put(
        Keys.Endpoints.endpoint("n1", ip),
        "{\"ip\":\""
            + ip
            + "\",\"identity\":70000,\"node\":\"n1\",\"namespace\":\"shop\",\"pod\":\""
            + pod
            + "\",\"endpointId\":1}",
        0);
  }

  static ServiceRecord awaitRecord(String name, Predicate<ServiceRecord> until) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    ServiceRecord last = null;
    while (System.nanoTime() < deadline) {
      Optional<Entry> e = kv.get(Keys.Services.service("shop", name));
      if (e.isPresent()) {
        last = ServiceRecord.parse(e.get().value());
        if (until.test(last)) {
          return last;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the record of shop/" + name + " never matched; last: " + last);
  }

  @Test
  @Order(1)
  void servicesGetClusterIpsAndTheRecordFollowsPodsAndEndpoints() throws Exception {
    ApplyResponse r =
        apply(
            NS
                + pod("cart-1", "cart")
                + "---\n"
                + pod("cart-2", "cart")
                + "---\n"
                + service("cart", ""));
    assertThat(r.getResultsList()).allMatch(x -> x.getOutcome() == Outcome.CREATED);
    String stored =
        kv.get(Keys.Resources.resource("services", "shop", "cart")).orElseThrow().value();
    assertThat(stored).contains("\"clusterIP\":\"10.96.").contains("fd00:96::");
    endpoint("cart-1", "10.0.1.5");
    endpoint("cart-1", "fd00:0:1::5");
    endpoint("cart-2", "10.0.2.7");
    ServiceRecord rec = awaitRecord("cart", x -> x.backends().size() == 2);
    assertThat(rec.clusterIPs()).hasSize(2);
    assertThat(kv.get(Keys.Services.ip(rec.clusterIPs().getFirst())).orElseThrow().value())
        .isEqualTo("shop/cart");
    assertThat(rec.backends().getFirst().addresses()).containsExactly("10.0.1.5", "fd00:0:1::5");
    assertThat(rec.backends().getFirst().ports()).containsExactly(8080);
    // re-applying the same text changes nothing, and keeps the addresses
    assertThat(apply(service("cart", "")).getResults(0).getOutcome()).isEqualTo(Outcome.UNCHANGED);

    // the pod is deleted while its agent still publishes its address: terminating, then gone
    resources().delete(DeleteRequest.newBuilder().setText(pod("cart-2", "cart")).build());
    rec =
        awaitRecord(
            "cart",
            x ->
                x.backends().size() == 2
                    && x.backends().get(1).state() == ServiceRecord.State.TERMINATING);
    kv.delete(Keys.Endpoints.endpoint("n1", "10.0.2.7"));
    awaitRecord("cart", x -> x.backends().size() == 1);
  }

  @Test
  @Order(2)
  void requestedAddressesAreCheckedAndDuplicatesRefusedNamingTheHolder() throws Exception {
    ApplyResponse ok = apply(service("dns", "  clusterIP: 10.96.0.10\n"));
    assertThat(ok.getResults(0).getOutcome()).isEqualTo(Outcome.CREATED);
    ApplyResponse dup = apply(service("other", "  clusterIP: 10.96.0.10\n"));
    assertThat(dup.getResults(0).getOutcome()).isEqualTo(Outcome.REFUSED);
    assertThat(dup.getResults(0).getMessage())
        .contains("spec.clusterIP: \"10.96.0.10\" is already the address of service shop/dns");
    assertThat(kv.get(Keys.Resources.resource("services", "shop", "other"))).isEmpty();
    ApplyResponse outside = apply(service("other", "  clusterIP: 192.168.1.1\n"));
    assertThat(outside.getResults(0).getMessage())
        .contains("outside the service range 10.96.0.0/16");
    ApplyResponse change = apply(service("dns", "  clusterIP: 10.96.0.11\n"));
    assertThat(change.getResults(0).getMessage()).contains("cannot change");
    // deleting the holder frees the address
    resources().delete(DeleteRequest.newBuilder().setText(service("dns", "")).build());
    assertThat(kv.get(Keys.Services.ip("10.96.0.10"))).isEmpty();
    assertThat(apply(service("other", "  clusterIP: 10.96.0.10\n")).getResults(0).getOutcome())
        .isEqualTo(Outcome.CREATED);
    awaitRecord("other", x -> x.clusterIPs().contains("10.96.0.10"));
  }

  @Test
  @Order(3)
  void aSelectorThatMatchesNoPodIsAppliedWithAWarningNamingTheField() {
    ApplyResponse r = apply(service("nobody", ""));
    assertThat(r.getResults(0).getOutcome()).isEqualTo(Outcome.CREATED);
    assertThat(r.getResults(0).getMessage())
        .startsWith("spec.selector {app=nobody} matches no pod in namespace shop");
    assertThat(apply(service("cart", "")).getResults(0).getMessage()).as("cart has pods").isEmpty();
  }

  @Test
  @Order(4)
  void nodePortsAreAllocatedAndNeverShared() throws Exception {
    ApplyResponse a = apply(service("web", "  type: NodePort\n"));
    assertThat(a.getResults(0).getOutcome()).isEqualTo(Outcome.CREATED);
    ServiceRecord rec = awaitRecord("web", x -> true);
    int nodePort = rec.ports().getFirst().nodePort();
    assertThat(nodePort).isBetween(30000, 32767);
    ApplyResponse b =
        apply(
            service("web2", "  type: NodePort\n")
                .replace("targetPort: http}", "targetPort: http, nodePort: " + nodePort + "}"));
    assertThat(b.getResults(0).getMessage())
        .contains("nodePort: " + nodePort + " is already a node port of service shop/web");
    // deleting the namespace releases everything its services held
    resources()
        .delete(
            DeleteRequest.newBuilder()
                .setText("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
                .build());
    // (other tests' services share this etcd: only shop's must be gone)
    assertThat(kv.list(Keys.Services.IPS_PREFIX).entries())
        .noneMatch(e -> e.value().startsWith("shop/"));
    assertThat(kv.list(Keys.Services.NODE_PORTS_PREFIX).entries())
        .noneMatch(e -> e.value().startsWith("shop/"));
    String shop = Keys.Services.PREFIX + "shop/";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!kv.list(shop).entries().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(kv.list(shop).entries()).as("records of deleted services").isEmpty();
  }
}
