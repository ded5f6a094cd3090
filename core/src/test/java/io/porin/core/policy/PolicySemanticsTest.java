package io.porin.core.policy;

import static io.porin.core.policy.Protocol.ICMP;
import static io.porin.core.policy.Protocol.SCTP;
import static io.porin.core.policy.Protocol.TCP;
import static io.porin.core.policy.Protocol.UDP;
import static io.porin.core.policy.Verdict.ALLOW;
import static io.porin.core.policy.Verdict.AUDIT;
import static io.porin.core.policy.Verdict.DENY;
import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.identity.ReservedIdentity;
import org.junit.jupiter.api.Test;

/** One test per semantic point of the policy issue; each a small cluster and its flows. */
class PolicySemanticsTest {

  /** Pods in two namespaces; "web" and "db" in demo, "client" in other; named ports. */
  static final String PODS =
      """
      apiVersion: v1
      kind: Namespace
      metadata: {name: demo, labels: {team: blue}}
      ---
      apiVersion: v1
      kind: Namespace
      metadata: {name: other, labels: {team: red}}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: web, namespace: demo, labels: {app: web}}
      spec:
        containers:
        - name: c
          ports: [{containerPort: 8080, name: http}, {containerPort: 9090, name: metrics}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: db, namespace: demo, labels: {app: db}}
      spec:
        containers:
        - name: c
          ports: [{containerPort: 5432, name: http}, {containerPort: 53, protocol: UDP, name: dns}]
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: client, namespace: other, labels: {app: client}}
      spec: {containers: [{name: c}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: web2, namespace: other, labels: {app: web}}
      spec: {containers: [{name: c}]}
      ---
      apiVersion: v1
      kind: Pod
      metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
      spec: {containers: [{name: c}]}
      """;

  static Scenario with(String policies) {
    return new Scenario(PODS + "\n---\n" + policies);
  }

  static Scenario with(String policies, PolicySettings settings) {
    return new Scenario(PODS + "\n---\n" + policies, settings);
  }

  @Test
  void withoutPoliciesEverythingIsAllowed() {
    Scenario s = with("");
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
    assertThat(s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("demo/web"), TCP, 1).explain())
        .contains("no policy enforces ingress");
  }

  @Test
  void anExplicitEmptySectionIsDefaultDenyForThatDirectionOnly() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: lock, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: []
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(DENY);
    assertThat(s.flow("demo/db", "demo/web", TCP, 8080)).isEqualTo(ALLOW);
    Decision d = s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("demo/web"), TCP, 5432);
    assertThat(d.byDefault()).isTrue();
    assertThat(d.explain())
        .isEqualTo("denied by default deny (no rule allows it), enabled by demo/lock");
  }

  @Test
  void enableDefaultDenyFalseKeepsTheEndpointOpenExceptForDenies() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: soft, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              enableDefaultDeny: {ingress: false}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
              ingressDeny:
              - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: other}}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
    assertThat(s.flow(Scenario.reserved(ReservedIdentity.HOST), s.pod("demo/db"), TCP, 1))
        .isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 5432)).isEqualTo(DENY);
  }

  @Test
  void enforcementModesAlwaysAndNever() {
    String deny =
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny-client, namespace: demo}
        spec:
          endpointSelector: {}
          enableDefaultDeny: {ingress: false}
          ingressDeny:
          - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: other}}]
        """;
    Scenario always = with(deny, new PolicySettings(EnforcementMode.ALWAYS, false, 1));
    assertThat(always.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(DENY);
    assertThat(
            always
                .decide(always.pod("demo/db"), Direction.INGRESS, always.pod("demo/web"), TCP, 1)
                .explain())
        .contains("enforcement mode \"always\"");
    Scenario never = with(deny, new PolicySettings(EnforcementMode.NEVER, false, 1));
    assertThat(never.flow("other/client", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
  }

  @Test
  void aFlowNeedsTheSendersEgressAndTheReceiversIngress() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: db-in, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-out, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: []
            """);
    assertThat(
            s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("demo/web"), TCP, 5432).verdict())
        .isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(DENY);
  }

  @Test
  void allowsAreAUnionAndDenyBeatsAllowFromAnyKind() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: np-allow-all, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress: [{}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: cnp-allow, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: no-5432-from-other}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingressDeny:
              - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: other}}]
                toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 5433)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 5432)).isEqualTo(DENY);
    Decision d = s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("other/client"), TCP, 5432);
    assertThat(d.explain()).isEqualTo("denied by no-5432-from-other ingressDeny[0]");
  }

  @Test
  void peersAndPortsCombineWithinARule() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: db-in, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
              - toPorts: [{ports: [{port: "53", protocol: UDP}]}]
              - fromEndpoints: [{matchLabels: {k8s-app: kube-dns, io.kubernetes.pod.namespace: kube-system}}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", TCP, 5433)).isEqualTo(DENY);
    // toPorts without peers: any peer, those ports.
    assertThat(s.flow("other/client", "demo/db", UDP, 53)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 53)).isEqualTo(DENY);
    // peers without toPorts: every port and protocol.
    assertThat(s.flow("kube-system/coredns", "demo/db", SCTP, 9)).isEqualTo(ALLOW);
    assertThat(s.flow("kube-system/coredns", "demo/db", ICMP, 8)).isEqualTo(ALLOW);
  }

  @Test
  void anL4RuleBlocksIcmpUnlessIcmpsAllowsIt() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: db-in, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "5432"}]}]
                icmps: [{fields: [{type: EchoRequest}, {type: 128, family: IPv6}]}]
            """);
    assertThat(s.flow("demo/web", "demo/db", ICMP, 8)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", ICMP, 13)).isEqualTo(DENY);
    assertThat(s.flow("demo/web", "demo/db", Protocol.ICMPV6, 128)).isEqualTo(ALLOW);
    // protocol omitted (ANY) means TCP, UDP and SCTP.
    assertThat(s.flow("demo/web", "demo/db", UDP, 5432)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", SCTP, 5432)).isEqualTo(ALLOW);
  }

  @Test
  void ciliumSelectorsAreScopedToThePolicyNamespaceUnlessTheyNameOne() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-in, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
              - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: other, app: client}}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/web2", "demo/db", TCP, 1)).isEqualTo(DENY);
    assertThat(s.flow("other/client", "demo/db", TCP, 1)).isEqualTo(ALLOW);
  }

  @Test
  void clusterwideSelectorsSpanNamespacesButOnlyPods() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: web-in}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
              - fromEndpoints: [{}]
                toPorts: [{ports: [{port: "7"}]}]
            """);
    assertThat(s.flow("other/web2", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 7)).isEqualTo(ALLOW);
    assertThat(s.flow(Scenario.reserved(ReservedIdentity.HOST), s.pod("demo/db"), TCP, 7))
        .isEqualTo(DENY);
  }

  @Test
  void kubernetesPeersAndOrAndTheEmptyPodSelector() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: and, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {team: red}}
                  podSelector: {matchLabels: {app: client}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: or, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {team: red}}
                - podSelector: {matchLabels: {app: db}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: same-ns, namespace: other}
            spec:
              podSelector: {}
              ingress:
              - from: [{podSelector: {}}]
            """);
    assertThat(s.flow("other/client", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/web2", "demo/db", TCP, 1)).isEqualTo(DENY);
    assertThat(s.flow("other/web2", "demo/web", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/db", "demo/web", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("kube-system/coredns", "demo/web", TCP, 1)).isEqualTo(DENY);
    assertThat(s.flow("other/web2", "other/client", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "other/client", TCP, 1)).isEqualTo(DENY);
  }

  @Test
  void kubernetesPolicyTypes() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: egress-rules-no-types, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: web}}
              egress:
              - to: [{podSelector: {matchLabels: {app: db}}}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: egress-only, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              policyTypes: [Egress]
            """);
    // no policyTypes, egress rules: Ingress and Egress.
    assertThat(s.flow("demo/db", "demo/web", TCP, 80)).isEqualTo(DENY);
    // db's policy is Egress only: its ingress stays open, and web's egress allows db.
    assertThat(s.flow("demo/web", "demo/db", TCP, 80)).isEqualTo(ALLOW);
    assertThat(s.decide(s.pod("demo/web"), Direction.EGRESS, s.pod("demo/db"), TCP, 80).verdict())
        .isEqualTo(ALLOW);
    assertThat(s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("demo/web"), TCP, 80).enforced())
        .isFalse();
  }

  @Test
  void namedPortsResolveOnTheDestinationPodInBothDirections() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: in-http, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: web}}
              ingress:
              - ports: [{port: http}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: out-http, namespace: other}
            spec:
              podSelector: {matchLabels: {app: client}}
              policyTypes: [Egress]
              egress:
              - ports: [{port: http}, {port: dns, protocol: UDP}]
            """);
    assertThat(s.flow("other/client", "demo/web", TCP, 8080)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/web", TCP, 9090)).isEqualTo(DENY);
    // egress to "http": 8080 on web, 5432 on db (each destination's own number).
    assertThat(s.flow("other/client", "demo/db", TCP, 5432)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 8080)).isEqualTo(DENY);
    assertThat(s.flow("other/client", "demo/db", UDP, 53)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "other/web2", TCP, 8080)).isEqualTo(DENY);
  }

  @Test
  void endPortRangesCompileToPortPrefixes() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: range, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
              - ports: [{port: 32000, endPort: 32768}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 31999)).isEqualTo(DENY);
    assertThat(s.flow("demo/web", "demo/db", TCP, 32000)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", TCP, 32767)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", TCP, 32768)).isEqualTo(ALLOW);
    assertThat(s.flow("demo/web", "demo/db", TCP, 32769)).isEqualTo(DENY);
    IdentityPolicy p = s.compiler.get(s.pod("demo/db").identity());
    assertThat(p.ingress().entries())
        .extracting(PolicyEntry::portsText)
        .containsExactly("32000-32255", "32256-32767", "32768");
  }

  @Test
  void ipBlockMatchesPodAddressesAndOutsideAddressesWithExcept() {
    Scenario s =
        with(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: blocks, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
              - from: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.4/30]}}]
              - from: [{ipBlock: {cidr: 203.0.113.0/24}}]
                ports: [{port: 443}]
            """);
    // web is 10.0.0.1, web2 10.0.0.4 (in the except), client 10.0.0.3.
    assertThat(s.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/web2", "demo/db", TCP, 1)).isEqualTo(DENY);
    assertThat(s.flow(s.world("203.0.113.9"), s.pod("demo/db"), TCP, 443)).isEqualTo(ALLOW);
    assertThat(s.flow(s.world("203.0.113.9"), s.pod("demo/db"), TCP, 80)).isEqualTo(DENY);
    assertThat(s.flow(s.world("198.51.100.1"), s.pod("demo/db"), TCP, 443)).isEqualTo(DENY);
  }

  @Test
  void ciliumCidrRulesSelectOutsideAddressesThroughCidrIdentities() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: out, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress:
              - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]
              - toCIDR: [192.0.2.7]
                toPorts: [{ports: [{port: "443", protocol: TCP}]}]
            """);
    // A pod's address is in 10.0.0.0/8, but a CIDR rule does not select pods.
    assertThat(s.flow("demo/web", "demo/db", TCP, 5432)).isEqualTo(DENY);
    assertThat(s.flow(s.pod("demo/web"), s.world("10.20.0.1"), TCP, 80)).isEqualTo(ALLOW);
    assertThat(s.flow(s.pod("demo/web"), s.world("10.9.1.1"), TCP, 80)).isEqualTo(DENY);
    assertThat(s.flow(s.pod("demo/web"), s.world("192.0.2.7"), TCP, 443)).isEqualTo(ALLOW);
    assertThat(s.flow(s.pod("demo/web"), s.world("192.0.2.8"), TCP, 443)).isEqualTo(DENY);
    assertThat(s.compiler.cidrIdentities()).hasSize(3);
  }

  @Test
  void theWorldOfOneFamilyIsNotTheOthers() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: v4-out, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress:
              - toCIDR: [0.0.0.0/0]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: world-out, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              egress:
              - toEntities: [world]
            """);
    // toCIDR 0.0.0.0/0 is the IPv4 world: not the IPv6 one
    assertThat(s.flow(s.pod("demo/web"), s.world("8.8.8.8"), TCP, 443)).isEqualTo(ALLOW);
    assertThat(s.flow(s.pod("demo/web"), s.world("2001:db8::8"), TCP, 443)).isEqualTo(DENY);
    IdentityPolicy web = s.compiler.get(s.pod("demo/web").identity());
    assertThat(web.egress().byPeer().keySet())
        .contains(ReservedIdentity.WORLD_IPV4.id().value())
        .doesNotContain(
            ReservedIdentity.WORLD.id().value(), ReservedIdentity.WORLD_IPV6.id().value());
    // the world entity is both
    assertThat(s.flow(s.pod("demo/db"), s.world("8.8.8.8"), TCP, 443)).isEqualTo(ALLOW);
    assertThat(s.flow(s.pod("demo/db"), s.world("2001:db8::8"), TCP, 443)).isEqualTo(ALLOW);
  }

  @Test
  void entitiesMapToReservedIdentities() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: ents, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress:
              - toEntities: [world]
                toPorts: [{ports: [{port: "443"}]}]
              - toEntities: [kube-apiserver, host]
              - toEntities: [cluster]
                toPorts: [{ports: [{port: "80"}]}]
              - toEntities: [dns]
            """);
    Scenario.Endpoint web = s.pod("demo/web");
    assertThat(s.flow(web, s.world("8.8.8.8"), TCP, 443)).isEqualTo(ALLOW);
    assertThat(s.flow(web, s.world("8.8.8.8"), TCP, 80)).isEqualTo(DENY);
    assertThat(s.flow(web, Scenario.reserved(ReservedIdentity.KUBE_APISERVER), TCP, 6443))
        .isEqualTo(ALLOW);
    assertThat(s.flow(web, Scenario.reserved(ReservedIdentity.HOST), TCP, 10250)).isEqualTo(ALLOW);
    assertThat(s.flow(web, Scenario.reserved(ReservedIdentity.REMOTE_NODE), TCP, 80))
        .isEqualTo(ALLOW);
    assertThat(s.flow(web, Scenario.reserved(ReservedIdentity.REMOTE_NODE), TCP, 81))
        .isEqualTo(DENY);
    assertThat(s.flow(web, s.pod("other/client"), TCP, 80)).isEqualTo(ALLOW);
    assertThat(s.flow(web, s.world("8.8.8.8"), TCP, 80)).isEqualTo(DENY);
    // dns: the cluster's DNS pods on 53, UDP and TCP.
    assertThat(s.flow(web, s.pod("kube-system/coredns"), UDP, 53)).isEqualTo(ALLOW);
    assertThat(s.flow(web, s.pod("kube-system/coredns"), TCP, 53)).isEqualTo(ALLOW);
    assertThat(s.flow(web, s.pod("kube-system/coredns"), UDP, 5353)).isEqualTo(DENY);
  }

  @Test
  void anEncryptPolicyMarksTheIdentitiesItSelectsOnly() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: encrypted
              namespace: demo
              annotations: {cilium.io/encrypt: "true"}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
            """);
    assertThat(s.compiler.compileFull(s.pod("demo/db").identity()).encrypt()).isTrue();
    assertThat(s.compiler.compileFull(s.pod("demo/web").identity()).encrypt()).isFalse();
    // encryption changes no verdict
    assertThat(s.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(ALLOW);
  }

  @Test
  void auditedPolicyPassesWhatItWouldDropAndNamesIt() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: trial
              namespace: demo
              annotations: {cilium.io/policy-audit-mode: "true"}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
              ingressDeny:
              - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: other}}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(ALLOW);
    Decision byDefault =
        s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("kube-system/coredns"), TCP, 1);
    assertThat(byDefault.verdict()).isEqualTo(AUDIT);
    assertThat(byDefault.explain())
        .isEqualTo(
            "audit: would be denied by default deny, enabled by demo/trial (audit mode: passed)");
    Decision denied = s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("other/client"), TCP, 1);
    assertThat(denied.verdict()).isEqualTo(AUDIT);
    assertThat(denied.rules())
        .extracting(RuleRef::shortName)
        .containsExactly("demo/trial ingressDeny[0]");
  }

  @Test
  void anEnforcedPolicyNextToAnAuditedOneStillDrops() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata:
              name: trial
              namespace: demo
              annotations: {cilium.io/policy-audit-mode: "true"}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: []
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: real, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]
            """);
    Decision d = s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("other/client"), TCP, 1);
    assertThat(d.verdict()).isEqualTo(DENY);
    assertThat(d.defaultDenyBy()).extracting(PolicyRef::displayName).containsExactly("demo/real");
  }

  @Test
  void namespaceAndAgentWideAudit() {
    String policy =
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: lock, namespace: demo}
        spec:
          endpointSelector: {}
          ingress: []
          ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]
        """;
    Scenario ns =
        new Scenario(
            PODS.replace(
                    "metadata: {name: demo, labels: {team: blue}}",
                    "metadata: {name: demo, labels: {team: blue}, annotations:"
                        + " {cilium.io/policy-audit-mode: \"true\"}}")
                + "\n---\n"
                + policy);
    assertThat(ns.flow("other/client", "demo/db", TCP, 1)).isEqualTo(AUDIT);
    assertThat(ns.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(AUDIT);
    Scenario agent = with(policy, new PolicySettings(EnforcementMode.DEFAULT, true, 1));
    assertThat(agent.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(AUDIT);
    Scenario enforced = with(policy);
    assertThat(enforced.flow("demo/web", "demo/db", TCP, 1)).isEqualTo(DENY);
  }

  @Test
  void fromRequiresNarrowsEveryEndpointPeerOfTheSubject() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: web-only-from-blue}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromRequires: [{matchLabels: {io.cilium.k8s.namespace.labels.team: blue}}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumClusterwideNetworkPolicy
            metadata: {name: web-from-anyone}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              ingress:
              - fromEndpoints: [{}]
            """);
    assertThat(s.flow("demo/db", "demo/web", TCP, 1)).isEqualTo(ALLOW);
    assertThat(s.flow("other/client", "demo/web", TCP, 1)).isEqualTo(DENY);
  }

  @Test
  void everyEntryNamesItsRules() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: a, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "5432"}]}]
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: b, namespace: demo}
            spec:
              podSelector: {matchLabels: {app: db}}
              ingress:
              - from: [{podSelector: {matchLabels: {app: web}}}]
                ports: [{port: 5432}]
            """);
    Decision d = s.decide(s.pod("demo/db"), Direction.INGRESS, s.pod("demo/web"), TCP, 5432);
    assertThat(d.rules())
        .extracting(RuleRef::toString)
        .containsExactly(
            "CiliumNetworkPolicy demo/a ingress[0]", "NetworkPolicy demo/b ingress[0]");
  }

  @Test
  void aNarrowAllowInsideAWideDenyIsDenied() {
    Scenario s =
        with(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: mix, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
              ingressDeny:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "8000", endPort: 8100, protocol: TCP}]}]
              - toPorts: [{ports: [{port: "22", protocol: TCP}]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: ssh, namespace: demo}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: web}}]
                toPorts: [{ports: [{port: "22", protocol: TCP}]}]
            """);
    assertThat(s.flow("demo/web", "demo/db", TCP, 8080)).isEqualTo(DENY);
    assertThat(s.flow("demo/web", "demo/db", TCP, 22)).isEqualTo(DENY);
  }
}
