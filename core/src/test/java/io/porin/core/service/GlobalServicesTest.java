package io.porin.core.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.policy.Protocol;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.ServiceResource;
import io.porin.core.service.ServiceRecord.Affinity;
import io.porin.core.service.ServiceRecord.Backend;
import io.porin.core.service.ServiceRecord.Mesh;
import io.porin.core.service.ServiceRecord.State;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobalServicesTest {
  private static ServiceRecord svc(Mesh mesh, List<ServiceRecord.Port> ports, Backend... b) {
    return new ServiceRecord(
        "production",
        "global-backend",
        "ClusterIP",
        List.of("10.96.0.50"),
        false,
        ports,
        0,
        "random",
        List.of(b),
        mesh);
  }

  private static final List<ServiceRecord.Port> P8080 =
      List.of(new ServiceRecord.Port(null, 8080, Protocol.TCP, 0));

  private static Backend b(String pod, String node, String ip, State s) {
    return new Backend(pod, node, List.of(ip), s, List.of(8080));
  }

  private static Set<String> pods(ServiceRecord r) {
    return r.backends().stream().map(Backend::pod).collect(Collectors.toSet());
  }

  /**
   * Each row: this cluster's mesh setting and backend state, the remote's setting and backend
   * state, and the pods served. An independent statement of Cilium's rules, row by row.
   */
  @ParameterizedTest(name = "local {0}/{1}/{2} {3}, remote {4}/{5} {6} -> {7}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          false | true  | none   | active      | true  | true  | active      | l
          true  | true  | none   | active      | true  | true  | active      | l r
          true  | false | none   | active      | true  | true  | active      | l r
          true  | true  | none   | active      | true  | false | active      | l
          true  | true  | none   | active      | false | true  | active      | l
          true  | true  | local  | active      | true  | true  | active      | l
          true  | true  | local  | terminating | true  | true  | active      | l r
          true  | true  | remote | active      | true  | true  | active      | r
          true  | true  | remote | active      | true  | true  | terminating | l r
          true  | true  | local  | none        | true  | true  | active      | r
          true  | true  | remote | active      | true  | true  | none        | l
          """)
  void mergedAsCiliumMergesThem(
      boolean global,
      boolean shared,
      String affinity,
      String localState,
      boolean remoteGlobal,
      boolean remoteShared,
      String remoteState,
      String expected) {
    List<Backend> lb = new ArrayList<>();
    if (!localState.equals("none")) {
      lb.add(b("l", "east-node1", "10.200.1.5", State.valueOf(localState.toUpperCase())));
    }
    List<Backend> rb = new ArrayList<>();
    if (!remoteState.equals("none")) {
      rb.add(b("r", "west/west-node1", "10.201.1.5", State.valueOf(remoteState.toUpperCase())));
    }
    ServiceRecord local =
        svc(
            global ? new Mesh(true, shared, Affinity.valueOf(affinity.toUpperCase())) : Mesh.LOCAL,
            P8080,
            lb.toArray(Backend[]::new));
    ServiceRecord remote =
        svc(
            remoteGlobal ? new Mesh(true, remoteShared, Affinity.NONE) : Mesh.LOCAL,
            P8080,
            rb.toArray(Backend[]::new));
    assertThat(pods(GlobalServices.merge(local, List.of(remote))))
        .isEqualTo(Set.of(expected.split(" ")));
  }

  @Test
  void remotePortsAreMatchedByNumberAndProtocolNotPosition() {
    List<ServiceRecord.Port> local =
        List.of(
            new ServiceRecord.Port("http", 8080, Protocol.TCP, 0),
            new ServiceRecord.Port("dns", 53, Protocol.UDP, 0));
    List<ServiceRecord.Port> remote =
        List.of(
            new ServiceRecord.Port("dns", 53, Protocol.UDP, 0),
            new ServiceRecord.Port("metrics", 9090, Protocol.TCP, 0));
    Mesh g = new Mesh(true, true, Affinity.NONE);
    ServiceRecord merged =
        GlobalServices.merge(
            svc(g, local),
            List.of(
                svc(
                    g,
                    remote,
                    new Backend(
                        "r", "west/n", List.of("10.201.1.5"), State.ACTIVE, List.of(5353, 9090)))));
    assertThat(merged.backends().getFirst().ports()).containsExactly(0, 5353);
  }

  @Test
  void recordsKeepTheirMeshSettings() {
    ServiceRecord r =
        svc(
            new Mesh(true, false, Affinity.REMOTE),
            P8080,
            b("l", "east-node1", "10.200.1.5", State.ACTIVE));
    assertThat(ServiceRecord.parse(r.toJson())).isEqualTo(r);
    ServiceRecord plain = svc(Mesh.LOCAL, P8080);
    assertThat(plain.toJson()).doesNotContain("mesh");
    assertThat(ServiceRecord.parse(plain.toJson()).mesh()).isEqualTo(Mesh.LOCAL);
  }

  private static String yaml(String annotations) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: production\n"
        + "  annotations: {"
        + annotations
        + "}\nspec:\n  selector: {app: backend}\n  ports: [{port: 8080}]\n";
  }

  @Test
  void annotationsAreReadAndCheckedNamingTheValue() {
    ServiceResource s =
        (ServiceResource)
            ResourceParser.parse(
                    yaml(
                        "service.cilium.io/global: 'true', service.cilium.io/shared: 'false',"
                            + " service.cilium.io/affinity: local"))
                .resources()
                .getFirst();
    assertThat(s.mesh()).isEqualTo(new Mesh(true, false, Affinity.LOCAL));
    assertThat(((ServiceResource) ResourceParser.parse(yaml("")).resources().getFirst()).mesh())
        .isEqualTo(Mesh.LOCAL);
    for (String[] bad :
        new String[][] {
          {"service.cilium.io/global: 'yes'", "service.cilium.io/global", "yes"},
          {"service.cilium.io/shared: 'no'", "service.cilium.io/shared", "no"},
          {"service.cilium.io/affinity: nearest", "service.cilium.io/affinity", "nearest"}
        }) {
      ResourceParser.Result r = ResourceParser.parse(yaml(bad[0]));
      assertThat(r.resources()).as(bad[0]).isEmpty();
      assertThat(r.refusals().toString()).contains(bad[1]).contains(bad[2]);
    }
  }
}
