package io.porin.core.resource;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.policy.Peer;
import io.porin.core.policy.PolicyRule;
import io.porin.core.policy.PortRule;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.RuleItem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Validation errors name the document, the field path and the value. */
class ResourceParserTest {

  static final String HEAD =
      """
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: frontend-egress, namespace: demo}
      spec:
        endpointSelector: {matchLabels: {app: frontend}}
      """;

  static String refusal(String yaml) {
    ResourceParser.Result r = ResourceParser.parse(yaml);
    assertThat(r.resources()).isEmpty();
    assertThat(r.refusals()).hasSize(1);
    return r.refusals().getFirst().message();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          egress: [{toPorts: [{ports: [{port: "70000"}]}]}] | demo/frontend-egress: spec.egress[0].toPorts[0].ports[0].port: "70000" is not a port
          egress: [{toPorts: [{ports: [{port: "80", protocol: ICMP}]}]}] | demo/frontend-egress: spec.egress[0].toPorts[0].ports[0].protocol: "ICMP" is not a protocol (TCP, UDP, SCTP, ANY)
          egress: [{toPorts: [{ports: [{port: "90", endPort: 80}]}]}] | demo/frontend-egress: spec.egress[0].toPorts[0].ports[0].endPort: 80 is less than port 90
          egres: [] | demo/frontend-egress: spec.egres: unknown field
          egress: [{toEntities: [moon]}] | demo/frontend-egress: spec.egress[0].toEntities[0]: "moon" is not an entity
          egress: [{toCIDR: [10.0.0.1/8]}] | demo/frontend-egress: spec.egress[0].toCIDR[0]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?
          egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [11.0.0.0/16]}]}] | demo/frontend-egress: spec.egress[0].toCIDRSet[0].except[0]: "11.0.0.0/16" is not inside 10.0.0.0/8
          egress: [{toEndpoints: [{matchExpressions: [{key: app, operator: In}]}]}] | demo/frontend-egress: spec.egress[0].toEndpoints[0].matchExpressions[0].values: must not be empty for operator In
          egress: [{toEndpoints: [{matchExpressions: [{key: app, operator: Within, values: [a]}]}]}] | demo/frontend-egress: spec.egress[0].toEndpoints[0].matchExpressions[0].operator: "Within" is not an operator
          egress: [{toEndpoints: [{}], toEntities: [world]}] | demo/frontend-egress: spec.egress[0]: combining toEndpoints and toEntities is not supported
          ingress: [{icmps: [{fields: [{type: Bogus}]}]}] | demo/frontend-egress: spec.ingress[0].icmps[0].fields[0].type: "Bogus" is not an ICMP type
          ingress: [{toPorts: [{ports: [{port: "Not_A_Name"}]}]}] | demo/frontend-egress: spec.ingress[0].toPorts[0].ports[0].port: "Not_A_Name" is not a port number or port name
          ingress: [{fromEndpoints: [{matchLabels: {app: 5}}]}] | demo/frontend-egress: spec.ingress[0].fromEndpoints[0].matchLabels.app: expected a string, got the number 5 (quote it: "5")
          ingress: [{toFQDNs: [{matchName: x}]}] | demo/frontend-egress: spec.ingress[0].toFQDNs: unknown field
          """)
  void errorsNameDocumentFieldAndValue(String section, String expected) {
    assertThat(refusal(HEAD + "  " + section + "\n")).startsWith(expected);
  }

  @Test
  void oneBadDocumentDoesNotStopTheOthers() {
    String yaml =
        HEAD
            + "  egress: []\n---\nthis: is: not: yaml\n---\n"
            + HEAD.replace("frontend-egress", "second")
            + "  ingress: [{toPorts: [{ports: [{port: \"-1\"}]}]}]\n---\n"
            + HEAD.replace("frontend-egress", "third")
            + "  ingress: []\n";
    ResourceParser.Result r = ResourceParser.parse(yaml);
    assertThat(r.resources())
        .extracting(res -> res.id().name())
        .containsExactly("frontend-egress", "third");
    assertThat(r.refusals())
        .extracting(ResourceParser.Refusal::message)
        .satisfiesExactly(
            m ->
                assertThat(m)
                    .isEqualTo(
                        "document 2: not valid YAML: line 8: mapping values are not allowed here"),
            m ->
                assertThat(m)
                    .isEqualTo(
                        "demo/second: spec.ingress[0].toPorts[0].ports[0].port: \"-1\" is not a port"));
  }

  @Test
  void anEncryptAnnotationIsTrueOrFalseNothingElse() {
    String yaml =
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: enc
          namespace: demo
          annotations: {cilium.io/encrypt: "%s"}
        spec: {endpointSelector: {}, ingress: []}
        """;
    PolicyResource on =
        (PolicyResource) ResourceParser.parse(yaml.formatted("true")).resources().getFirst();
    assertThat(on.rules()).allMatch(r -> r.encrypt());
    assertThat(on.enforceable()).isTrue();
    PolicyResource off =
        (PolicyResource) ResourceParser.parse(yaml.formatted("False")).resources().getFirst();
    assertThat(off.rules()).noneMatch(r -> r.encrypt());
    assertThat(ResourceParser.parse(yaml.formatted("yes")).refusals())
        .extracting(ResourceParser.Refusal::message)
        .containsExactly(
            "demo/enc: metadata.annotations.cilium.io/encrypt: \"yes\" is not \"true\" or \"false\"");
  }

  @Test
  void specsListAndJson() {
    String json =
        """
        {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
         "metadata": {"name": "two", "namespace": "demo"},
         "specs": [
           {"endpointSelector": {}, "ingress": [{"fromEntities": ["host"]}]},
           {"endpointSelector": {"matchLabels": {"app": "x"}},
            "egressDeny": [{"toPorts": [{"ports": [{"port": "25", "protocol": "TCP"}]}]}]}]}
        """;
    PolicyResource p = (PolicyResource) ResourceParser.parse(json).resources().getFirst();
    assertThat(p.rules()).hasSize(2);
    RuleItem deny = p.rules().get(1).items().getFirst();
    assertThat(deny.ref().toString())
        .isEqualTo("CiliumNetworkPolicy demo/two specs[1].egressDeny[0]");
    assertThat(deny.deny()).isTrue();
    assertThat(deny.ports()).containsExactly(PortRule.of(Protocol.TCP, 25));
    assertThat(p.rules().get(0).subject().toString())
        .isEqualTo("{k8s:io.kubernetes.pod.namespace=demo}");
  }

  @Test
  void kubernetesPolicyTranslation() {
    PolicyResource p =
        (PolicyResource)
            ResourceParser.parse(
                    """
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: np, namespace: demo}
                    spec:
                      podSelector: {}
                      ingress:
                      - from:
                        - namespaceSelector: {matchLabels: {team: red}}
                          podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}
                        - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.0/28]}
                        ports: [{port: 8080, endPort: 8090}, {protocol: UDP, port: dns}]
                    """)
                .resources()
                .getFirst();
    PolicyRule rule = p.rules().getFirst();
    assertThat(rule.ingressSection()).isTrue();
    assertThat(rule.egressSection()).isFalse();
    RuleItem item = rule.items().getFirst();
    assertThat(item.peers().get(0))
        .isEqualTo(
            new Peer.Endpoints(
                new io.porin.core.policy.Selector(
                    java.util.List.of(
                        io.porin.core.policy.Requirement.equalTo(
                            "k8s:io.cilium.k8s.namespace.labels.team", "red"),
                        new io.porin.core.policy.Requirement(
                            "k8s:io.kubernetes.pod.namespace",
                            io.porin.core.policy.Requirement.Operator.EXISTS,
                            java.util.List.of()),
                        new io.porin.core.policy.Requirement(
                            "tier",
                            io.porin.core.policy.Requirement.Operator.NOT_IN,
                            java.util.List.of("db"))))));
    assertThat(item.peers().get(1)).isInstanceOf(Peer.Addresses.class);
    assertThat(((Peer.Addresses) item.peers().get(1)).ipBlock()).isTrue();
    assertThat(item.ports())
        .containsExactly(
            new PortRule(Protocol.TCP, 8080, 8090, null), new PortRule(Protocol.UDP, 0, 0, "dns"));
  }

  @Test
  void workloads() {
    ResourceParser.Result r =
        ResourceParser.parse(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: demo}
            spec:
              selector: {app: web}
              ports: [{name: http, port: 80, targetPort: http}, {name: dns, port: 53, protocol: UDP}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, labels: {app: web}}
            spec:
              nodeName: n1
              containers:
              - name: c
                image: nginx
                ports: [{containerPort: 8080, name: http}, {containerPort: 70000}]
            """);
    ServiceResource svc = (ServiceResource) r.resources().getFirst();
    assertThat(svc.ports().get(0).targetPortName()).isEqualTo("http");
    assertThat(svc.ports().get(1).targetPort()).isEqualTo(53);
    assertThat(r.refusals().getFirst().message())
        .isEqualTo("default/web: spec.containers[0].ports[1].containerPort: 70000 is not a port");
  }

  @Test
  void storedJsonReadsBackToTheSameResource() {
    for (Resource res :
        ResourceParser.parse(HEAD + "  ingress: [{fromEndpoints: [{}]}]\n").resources()) {
      Resource again =
          ResourceParser.parseDocument(
              YamlDocuments.read(Json.write(res.source())).getFirst().tree(), "x");
      assertThat(again).isEqualTo(res);
    }
  }
}
