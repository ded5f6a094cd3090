package io.porin.core.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.core.resource.PodResource;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.ServiceResource;
import io.porin.core.service.ServiceBackends.EndpointAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceBackendsTest {
  private static <T> T one(String yaml) {
    ResourceParser.Result r = ResourceParser.parse(yaml);
    assertThat(r.refusals()).isEmpty();
    @SuppressWarnings("unchecked")
    T t = (T) r.resources().getFirst();
    return t;
  }

  private static PodResource pod(String name, String app, String portName, int port) {
    return one(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: "
            + name
            + ", namespace: demo, labels: {app: "
            + app
            + "}}\nspec:\n  containers:\n  - name: c\n    ports:\n    - {name: "
            + portName
            + ", containerPort: "
            + port
            + "}\n");
  }

  private static final ServiceResource API =
      one(
          "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: demo}\n"
              + "spec:\n  selector: {app: api}\n  clusterIPs: [10.96.0.20, 'fd00:96::20']\n"
              + "  sessionAffinity: ClientIP\n"
              + "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n"
              + "  ports:\n  - {name: http, port: 3000, targetPort: web}\n"
              + "  - {name: metrics, port: 9090, targetPort: 9090, protocol: UDP}\n");

  @Test
  void backendsAreSelectedPodsWithAddressesEachPortResolvedForThatPod() {
    List<PodResource> pods =
        List.of(
            pod("api-1", "api", "web", 3000),
            pod("api-2", "api", "web", 8080), // the same name, another number
            pod("api-3", "api", "other", 3000), // no port named web
            pod("api-4", "api", "web", 3000), // no address yet
            pod("db", "database", "web", 5432));
    List<EndpointAddress> eps =
        List.of(
            new EndpointAddress("demo", "api-1", "node1", "fd00::1"),
            new EndpointAddress("demo", "api-1", "node1", "10.0.1.1"),
            new EndpointAddress("demo", "api-2", "node2", "10.0.2.1"),
            new EndpointAddress("demo", "api-3", "node2", "10.0.2.3"),
            new EndpointAddress("demo", "db", "node1", "10.0.1.9"),
            new EndpointAddress("other", "api-4", "node1", "10.0.1.4"));
    ServiceRecord r = ServiceBackends.record(API, pods, eps, null);
    assertThat(r.clusterIPs()).containsExactly("10.96.0.20", "fd00:96::20");
    assertThat(r.affinityTimeout()).isEqualTo(60);
    assertThat(r.backends())
        .extracting(ServiceRecord.Backend::pod, b -> b.addresses(), b -> b.ports())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "api-1", List.of("10.0.1.1", "fd00::1"), List.of(3000, 9090)),
            org.assertj.core.groups.Tuple.tuple("api-2", List.of("10.0.2.1"), List.of(8080, 9090)),
            org.assertj.core.groups.Tuple.tuple("api-3", List.of("10.0.2.3"), List.of(0, 9090)));
    assertThat(r.backends()).allMatch(b -> b.state() == ServiceRecord.State.ACTIVE);
    assertThat(ServiceRecord.parse(r.toJson())).isEqualTo(r);
  }

  @Test
  void aPodGoneFromTheStoreWhileItsAddressIsPublishedIsTerminatingThenGone() {
    List<EndpointAddress> eps =
        List.of(
            new EndpointAddress("demo", "api-1", "node1", "10.0.1.1"),
            new EndpointAddress("demo", "api-2", "node2", "10.0.2.1"));
    ServiceRecord before =
        ServiceBackends.record(
            API,
            List.of(pod("api-1", "api", "web", 3000), pod("api-2", "api", "web", 3000)),
            eps,
            null);
    ServiceRecord deleting =
        ServiceBackends.record(API, List.of(pod("api-1", "api", "web", 3000)), eps, before);
    assertThat(deleting.backends())
        .extracting(ServiceRecord.Backend::pod, ServiceRecord.Backend::state)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("api-1", ServiceRecord.State.ACTIVE),
            org.assertj.core.groups.Tuple.tuple("api-2", ServiceRecord.State.TERMINATING));
    ServiceRecord gone =
        ServiceBackends.record(
            API, List.of(pod("api-1", "api", "web", 3000)), eps.subList(0, 1), deleting);
    assertThat(gone.backends()).extracting(ServiceRecord.Backend::pod).containsExactly("api-1");
    // a relabelled pod (still in the store, no longer selected) leaves at once
    ServiceRecord relabelled =
        ServiceBackends.record(
            API,
            List.of(pod("api-1", "api", "web", 3000), pod("api-2", "other", "web", 3000)),
            eps,
            before);
    assertThat(relabelled.backends())
        .extracting(ServiceRecord.Backend::pod)
        .containsExactly("api-1");
  }

  @Test
  void onlyThePodsOwnNodeSpeaksForItsAddresses() {
    PodResource onNode2 =
        one(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: api-2, namespace: demo, labels: {app: api}}\n"
                + "spec:\n  nodeName: node2\n  containers:\n  - name: c\n    ports:\n"
                + "    - {name: web, containerPort: 3000}\n");
    List<EndpointAddress> eps =
        List.of(
            new EndpointAddress("demo", "api-2", "node2", "10.0.2.1"),
            // node1 claims the same pod for an address of its own
            new EndpointAddress("demo", "api-2", "node1", "10.0.1.66"));
    ServiceRecord r = ServiceBackends.record(API, List.of(onNode2), eps, null);
    assertThat(r.backends()).hasSize(1);
    assertThat(r.backends().getFirst().toString()).contains("10.0.2.1").doesNotContain("10.0.1.66");
    // a claim alone, without the pod's own node, is no backend
    assertThat(ServiceBackends.record(API, List.of(onNode2), List.of(eps.get(1)), null).backends())
        .isEmpty();
  }

  @Test
  void aTerminatingBackendKeepsItsTargetsByPortWhenTheServicePortsChange() {
    List<EndpointAddress> eps = List.of(new EndpointAddress("demo", "api-2", "node2", "10.0.2.1"));
    ServiceRecord before =
        ServiceBackends.record(API, List.of(pod("api-2", "api", "web", 8080)), eps, null);
    // the pod is gone and the service gains a port in front of the others
    ServiceResource changed =
        one(
            "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: demo}\n"
                + "spec:\n  selector: {app: api}\n  ports:\n  - {name: admin, port: 81}\n"
                + "  - {name: metrics, port: 9090, targetPort: 9090, protocol: UDP}\n"
                + "  - {name: http, port: 3000, targetPort: web}\n");
    ServiceRecord after = ServiceBackends.record(changed, List.of(), eps, before);
    assertThat(after.backends().getFirst().state()).isEqualTo(ServiceRecord.State.TERMINATING);
    assertThat(after.backends().getFirst().ports()).containsExactly(0, 9090, 8080);
    assertThat(ServiceRecord.parse(after.toJson())).isEqualTo(after);
  }

  @Test
  void serviceFieldsAreValidatedNamingFieldAndValue() {
    String head = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: demo}\nspec:\n";
    String[][] cases = {
      {"  ports: [{port: 70000}]\n", "70000"},
      {
        "  clusterIP: 10.96.0.300\n  ports: [{port: 80}]\n",
        "spec.clusterIP: \"10.96.0.300\" is not an IP address"
      },
      {"  ports: [{port: 80}, {port: 81}]\n", "is required when a service has more than one port"},
      {"  ports: [{port: 80, nodePort: 30001}]\n", "is only for NodePort and LoadBalancer"},
      {"  type: NodePort\n  ports: [{port: 80, nodePort: 1234}]\n", "outside the node port range"},
      {"  sessionAffinity: Cookie\n  ports: [{port: 80}]\n", "\"Cookie\" is not None or ClientIP"},
      {
        "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}\n  ports: [{port: 80}]\n",
        "between 1 and 86400"
      },
      {
        "  clusterIPs: [10.96.0.1, 10.96.0.2]\n  ports: [{port: 80}]\n",
        "at most one address per family"
      },
      {"  type: NodePort\n  clusterIP: None\n  ports: [{port: 80}]\n", "cannot be headless"},
      {"  ports: [{name: a, port: 80}, {name: b, port: 80}]\n", "is used twice"},
    };
    for (String[] c : cases) {
      ResourceParser.Result r = ResourceParser.parse(head + c[0]);
      assertThat(r.refusals()).as(c[0]).hasSize(1);
      assertThat(r.refusals().getFirst().message()).as(c[0]).contains(c[1]);
    }
    ResourceParser.Result maglev =
        ResourceParser.parse(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: demo, annotations:"
                + " {service.cilium.io/lb-algorithm: ring}}\nspec:\n  ports: [{port: 80}]\n");
    assertThat(maglev.refusals().getFirst().message())
        .contains("service.cilium.io/lb-algorithm")
        .contains("\"ring\" is not random or maglev");
    assertThatThrownBy(() -> ServiceRecord.parse("{\"name\": 1}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("malformed");
  }
}
