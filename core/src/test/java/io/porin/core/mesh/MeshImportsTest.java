package io.porin.core.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.ipam.Cidr;
import io.porin.core.service.ServiceRecord;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MeshImportsTest {
  private static final ClusterInfo WEST =
      new ClusterInfo("west", 2, List.of(Cidr.parse("10.201.0.0/16"), Cidr.parse("fd00:201::/48")));

  /** West's first pod identity: cluster ID 2 in bits 16..23, 256 + n below. */
  private static final int W1 = (2 << 16) + 300;

  private static Map<String, String> west() {
    Map<String, String> m = new HashMap<>();
    m.put("west/info", WEST.record());
    m.put("west/revision", "42");
    m.put(
        "west/state/identities/id/" + W1,
        "k8s:app=backend;k8s:io.cilium.k8s.policy.cluster=west;"
            + "k8s:io.kubernetes.pod.namespace=production");
    m.put(
        "west/state/endpoints/west-node1/10.201.1.5",
        "{\"ip\":\"10.201.1.5\",\"identity\":"
            + W1
            + ",\"node\":\"west-node1\",\"namespace\":\"production\",\"pod\":\"backend-1\","
            + "\"endpointId\":7}");
    m.put(
        "west/state/nodes/west-node1",
        "{\"name\":\"west-node1\",\"addresses\":[\"172.30.2.11\",\"fd00:ac1e:2::11\"],"
            + "\"ipv4Cidrs\":[\"10.201.1.0/24\"],\"ipv6Cidrs\":[\"fd00:201:0:1::/64\"],"
            + "\"wireguard\":{\"publicKey\":\"abc=\",\"port\":51871}}");
    m.put("west/state/services/production/global-backend", service("10.201.1.5", true, true));
    return m;
  }

  private static String service(String backend, boolean global, boolean shared) {
    return new ServiceRecord(
            "production",
            "global-backend",
            "ClusterIP",
            List.of("10.96.0.50"),
            false,
            List.of(new ServiceRecord.Port(null, 8080, io.porin.core.policy.Protocol.TCP, 0)),
            0,
            "random",
            List.of(
                new ServiceRecord.Backend(
                    "backend-1",
                    "west-node1",
                    List.of(backend),
                    ServiceRecord.State.ACTIVE,
                    List.of(8080))),
            new ServiceRecord.Mesh(global, shared, ServiceRecord.Affinity.NONE))
        .toJson();
  }

  private static MeshImports of(Map<String, String> m, int local) {
    MeshImports i = new MeshImports(local);
    i.reset(m);
    return i;
  }

  @Test
  void aWellFormedPeerIsBelievedWhole() {
    MeshImports i = of(west(), 1);
    assertThat(i.clusters()).containsOnlyKeys("west");
    assertThat(i.identities()).containsOnlyKeys(W1);
    var ep = i.endpoints().get(Cidr.parse("10.201.1.5/32"));
    assertThat(ep)
        .isEqualTo(
            new MeshImports.RemoteEndpoint(
                "west", "west-node1", "production", "backend-1", W1, Cidr.parse("10.201.1.5/32")));
    assertThat(i.nodes())
        .containsExactly(
            new MeshImports.RemoteNode(
                "west",
                "west-node1",
                List.of("172.30.2.11", "fd00:ac1e:2::11"),
                List.of(Cidr.parse("10.201.1.0/24"), Cidr.parse("fd00:201:0:1::/64")),
                "abc=",
                51871));
    var svc = i.services().get("production/global-backend");
    assertThat(svc).hasSize(1);
    assertThat(svc.getFirst().backends().getFirst().node()).isEqualTo("west/west-node1");
    assertThat(i.drainRefusals()).isEmpty();
  }

  /** What a peer (or anyone writing under its prefix) may try, and what it must not get. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          an endpoint outside the peer's pod CIDRs (a local pod's address) | west/state/endpoints/west-node1/10.200.1.5 | {"identity":131372,"namespace":"x","pod":"p"} | endpoints
          an endpoint with another cluster's identity | west/state/endpoints/west-node1/10.201.1.9 | {"identity":65836,"namespace":"x","pod":"p"} | endpoints
          an endpoint with a reserved identity (host) | west/state/endpoints/west-node1/10.201.1.9 | {"identity":1,"namespace":"x","pod":"p"} | endpoints
          an endpoint with a reserved number in the peer's ID | west/state/endpoints/west-node1/10.201.1.9 | {"identity":131073,"namespace":"x","pod":"p"} | endpoints
          an endpoint with a node-local identity | west/state/endpoints/west-node1/10.201.1.9 | {"identity":16777217,"namespace":"x","pod":"p"} | endpoints
          an endpoint record that is not JSON | west/state/endpoints/west-node1/10.201.1.9 | nope | endpoints
          an endpoint address that is not written as an address | west/state/endpoints/west-node1/010.201.1.9 | {"identity":131372,"namespace":"x","pod":"p"} | endpoints
          an identity number that is not written canonically | west/state/identities/id/0131373 | k8s:app=x;k8s:io.cilium.k8s.policy.cluster=west | identities
          an identity of another cluster ID | west/state/identities/id/65836 | k8s:app=x;k8s:io.cilium.k8s.policy.cluster=west | identities
          an identity labelled with another cluster | west/state/identities/id/131373 | k8s:app=x;k8s:io.cilium.k8s.policy.cluster=east | identities
          an identity with reserved labels | west/state/identities/id/131373 | reserved:host;k8s:io.cilium.k8s.policy.cluster=west | identities
          an identity without a cluster label | west/state/identities/id/131373 | k8s:app=x | identities
          a node routing a pod CIDR of this cluster | west/state/nodes/west-node2 | {"name":"west-node2","addresses":["172.30.2.12"],"ipv4Cidrs":["10.200.1.0/24"]} | nodes
          a node record under another node's name | west/state/nodes/west-node2 | {"name":"west-node1","addresses":["172.30.2.12"],"ipv4Cidrs":[]} | nodes
          a service that is not global | west/state/services/production/other | SVC-LOCAL | services
          a service backend outside the peer's pod CIDRs | west/state/services/production/other | SVC-OUTSIDE | services
          a service backend address with a space | west/state/services/production/other | SVC-SPACE | services
          """)
  void refusedAndSaid(String what, String key, String value, String view) {
    Map<String, String> m = west();
    String v =
        switch (value) {
          case "SVC-LOCAL" -> service("10.201.1.5", false, true).replace("global-backend", "other");
          case "SVC-OUTSIDE" ->
              service("10.200.1.5", true, true).replace("global-backend", "other");
          default -> value;
        };
    m.put(key, v);
    MeshImports i = of(m, 1);
    MeshImports clean = of(west(), 1);
    switch (view) {
      case "endpoints" -> assertThat(i.endpoints()).isEqualTo(clean.endpoints());
      case "identities" -> assertThat(i.identities()).isEqualTo(clean.identities());
      case "nodes" -> {
        assertThat(i.nodes()).hasSize(clean.nodes().size() + (what.contains("routing") ? 1 : 0));
        assertThat(i.nodes().stream().flatMap(n -> n.podCidrs().stream()))
            .doesNotContain(Cidr.parse("10.200.1.0/24"));
        assertThat(i.nodes().stream().filter(n -> n.name().equals("west-node2")))
            .allMatch(n -> n.podCidrs().isEmpty());
      }
      case "services" -> {
        var svcs = i.services().getOrDefault("production/other", List.of());
        assertThat(svcs.stream().flatMap(s -> s.backends().stream())).isEmpty();
      }
      default -> throw new AssertionError(view);
    }
    assertThat(i.drainRefusals()).as(what).singleElement().asString().contains("mesh/" + key);
    assertThat(i.drainRefusals()).as("said once").isEmpty();
  }

  @Test
  void aPeerWithoutARecordOrWithThisClustersIdCountsForNothing() {
    Map<String, String> m = west();
    m.remove("west/info");
    MeshImports none = of(m, 1);
    assertThat(none.identities()).isEmpty();
    assertThat(none.endpoints()).isEmpty();
    assertThat(none.nodes()).isEmpty();
    assertThat(none.services()).isEmpty();

    MeshImports same = of(west(), 2);
    assertThat(same.clusters()).isEmpty();
    assertThat(same.endpoints()).isEmpty();
    assertThat(same.drainRefusals()).anyMatch(r -> r.contains("claims this cluster's ID 2"));
  }

  @Test
  void peersClaimingTheSameAddressesOrAWholeAddressSpaceCountForNothing() {
    Map<String, String> m = west();
    m.put(
        "south/info", new ClusterInfo("south", 3, List.of(Cidr.parse("10.201.128.0/17"))).record());
    m.put("north/info", new ClusterInfo("north", 4, List.of(Cidr.parse("2000::/3"))).record());
    m.put("far/info", new ClusterInfo("far", 5, List.of(Cidr.parse("10.99.0.0/16"))).record());
    MeshImports i = of(m, 1);
    assertThat(i.clusters()).containsOnlyKeys("far");
    assertThat(i.endpoints()).isEmpty();
    assertThat(i.drainRefusals())
        .anyMatch(r -> r.contains("clusters south and west claim pod CIDRs"))
        .anyMatch(r -> r.contains("north's pod CIDR 2000::/3 is wider than a pool"));
  }

  @Test
  void aRefusalIsSaidAgainWhenTheRecordChangesAndForgottenWhenItGoes() {
    MeshImports i = of(west(), 1);
    String key = "west/state/endpoints/west-node1/10.200.1.5";
    i.put(key, "{\"identity\":" + W1 + "}");
    i.endpoints();
    assertThat(i.drainRefusals()).hasSize(1);
    i.put(key, "{\"identity\":" + (W1 + 1) + "}");
    i.endpoints();
    assertThat(i.drainRefusals()).hasSize(1);
    i.delete(key);
    assertThat(i.refusedCount()).isZero();
  }

  @Test
  void changesAndDeletionsAreSeen() {
    MeshImports i = of(west(), 1);
    i.delete("west/state/endpoints/west-node1/10.201.1.5");
    assertThat(i.endpoints()).isEmpty();
    i.put(
        "west/state/endpoints/west-node1/10.201.1.6",
        "{\"identity\":" + W1 + ",\"namespace\":\"production\",\"pod\":\"backend-2\"}");
    assertThat(i.endpoints()).containsOnlyKeys(Cidr.parse("10.201.1.6/32"));
  }

  @Test
  void theRecordRoundTripsAndBadRecordsNameTheField() {
    assertThat(ClusterInfo.parseRecord("west", WEST.record())).isEqualTo(WEST);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ClusterInfo.parseRecord("west", "{\"id\":0,\"podCidrs\":[]}"))
        .hasMessageContaining("id: 0");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ClusterInfo.parseRecord("west", "{\"id\":2,\"podCidrs\":[\"10.1\"]}"))
        .hasMessageContaining("podCidrs: 10.1");
  }
}
