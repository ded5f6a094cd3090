package io.porin.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * All subsets of twelve policies (every kind, allow and deny, audit, entities, CIDR rules, ipBlock
 * with except, named ports, port ranges, ICMP, enableDefaultDeny) over eight pods, four outside
 * addresses and two reserved peers: for every subset, every flow direction of every pod and a set
 * of protocol/port probes, the compiled maps (looked up as the datapath does) must give the verdict
 * of {@link ReferenceEvaluator}. Subsets are visited in Gray-code order, one policy added or
 * removed per step, so the compiler's incremental path is what is checked; every step also holds it
 * to a compile from scratch.
 */
class PolicyCombinatorialTest {

  static final String POLICIES =
      """
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p1-default-deny, namespace: a}
      spec: {endpointSelector: {}, ingress: [], egress: []}
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p2-x-from-y, namespace: a}
      spec:
        endpointSelector: {matchLabels: {app: x}}
        ingress:
        - fromEndpoints: [{matchLabels: {app: y}}]
          toPorts: [{ports: [{port: "80", protocol: TCP}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumClusterwideNetworkPolicy
      metadata: {name: p3-prod-deny-b}
      spec:
        endpointSelector: {matchLabels: {env: prod}}
        ingressDeny:
        - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: b}}]
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: p4-y-http, namespace: b}
      spec:
        podSelector: {matchLabels: {app: y}}
        ingress:
        - from: [{podSelector: {}}]
          ports: [{port: http}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p5-b-world, namespace: b}
      spec:
        endpointSelector: {}
        egress:
        - toEntities: [world]
          toPorts: [{ports: [{port: "80"}]}]
        - toCIDRSet: [{cidr: 192.0.2.0/24, except: [192.0.2.128/25]}]
          toPorts: [{ports: [{port: "443", protocol: TCP}]}]
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: p6-a-y-blocks, namespace: a}
      spec:
        podSelector: {matchLabels: {app: y}}
        policyTypes: [Ingress, Egress]
        egress:
        - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
        ingress:
        - from: [{namespaceSelector: {}, podSelector: {matchLabels: {env: prod}}}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata:
        name: p7-audit
        namespace: b
        annotations: {cilium.io/policy-audit-mode: "true"}
      spec:
        endpointSelector: {matchLabels: {app: x}}
        ingressDeny:
        - fromEndpoints: [{matchLabels: {app: y}}]
          toPorts: [{ports: [{port: "8000", endPort: 8100, protocol: TCP}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumClusterwideNetworkPolicy
      metadata: {name: p8-y-no-dns}
      spec:
        endpointSelector: {matchLabels: {app: y}}
        egressDeny:
        - toPorts: [{ports: [{port: "53", protocol: UDP}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p9-prod-cluster, namespace: a}
      spec:
        endpointSelector: {matchLabels: {env: prod}}
        enableDefaultDeny: {ingress: false}
        ingress:
        - fromEntities: [cluster]
          toPorts: [{ports: [{port: "9000", endPort: 9999, protocol: ANY}]}]
          icmps: [{fields: [{type: 8}]}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p10-y-to-prod-http, namespace: b}
      spec:
        endpointSelector: {matchLabels: {app: y}}
        egress:
        - toEndpoints: [{matchLabels: {env: prod}}]
          toPorts: [{ports: [{port: http}]}]
      ---
      apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: p11-b-x-out, namespace: b}
      spec:
        podSelector: {matchLabels: {app: x}}
        policyTypes: [Egress]
        egress:
        - to: [{podSelector: {matchLabels: {app: y}}, namespaceSelector: {}}]
          ports: [{port: 8080, endPort: 8090}]
      ---
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: p12-a-x-infra, namespace: a}
      spec:
        endpointSelector: {matchLabels: {app: x}}
        egress:
        - toEntities: [kube-apiserver, host]
        - toPorts: [{ports: [{port: "53", protocol: UDP}]}]
      """;

  record Probe(Protocol protocol, int port) {}

  static final List<Probe> PROBES =
      List.of(
          new Probe(Protocol.TCP, 80),
          new Probe(Protocol.TCP, 443),
          new Probe(Protocol.TCP, 8080),
          new Probe(Protocol.TCP, 8085),
          new Probe(Protocol.TCP, 9500),
          new Probe(Protocol.UDP, 53),
          new Probe(Protocol.SCTP, 9500),
          new Probe(Protocol.ICMP, 8));

  @Test
  void everySubsetOfTwelvePoliciesMatchesTheReference() throws Exception {
    List<PolicyResource> policies = new ArrayList<>();
    for (Resource r : ResourceParser.parse(POLICIES).resources()) {
      policies.add((PolicyResource) r);
    }
    assertThat(policies).hasSize(12);
    assertThat(ResourceParser.parse(POLICIES).refusals()).isEmpty();

    PolicySettings settings = PolicySettings.defaults(1);
    List<ReferenceEvaluator.Party> pods = new ArrayList<>();
    PolicyCompiler compiler = new PolicyCompiler(settings);
    int n = 0;
    for (String ns : List.of("a", "b")) {
      for (String app : List.of("x", "y")) {
        for (boolean prod : List.of(true, false)) {
          n++;
          Map<String, String> podLabels =
              prod ? Map.of("app", app, "env", "prod") : Map.of("app", app);
          LabelSet labels =
              LabelFilter.defaults()
                  .filter(
                      EndpointLabels.all(
                          ns, podLabels, Map.of("team", ns.equals("a") ? "red" : "blue")))
                  .identityLabels();
          int id = NumericIdentity.ofCluster(1, 300 + n).value();
          List<NamedPort> ports = new ArrayList<>();
          ports.add(new NamedPort("http", Protocol.TCP, app.equals("x") ? 80 : 8080));
          if (prod) {
            ports.add(new NamedPort("dns", Protocol.UDP, 53));
          }
          BigInteger address = address((ns.equals("a") ? "10.0.0." : "10.1.0.") + n);
          pods.add(
              new ReferenceEvaluator.Party(
                  id, labels, ReferenceEvaluator.Kind.POD, address, Cidr.Family.IPV4, ports, ns));
          compiler.putIdentity(id, labels);
          compiler.putEndpoint("pod-" + n, id, ports);
        }
      }
    }
    List<ReferenceEvaluator.Party> others = new ArrayList<>();
    for (String w : List.of("192.0.2.10", "192.0.2.200", "10.2.0.1", "8.8.8.8")) {
      others.add(
          new ReferenceEvaluator.Party(
              -1,
              LabelSet.empty(),
              ReferenceEvaluator.Kind.WORLD,
              address(w),
              Cidr.Family.IPV4,
              List.of(),
              ""));
    }
    others.add(reserved(ReservedIdentity.HOST, ReferenceEvaluator.Kind.HOST));
    others.add(reserved(ReservedIdentity.KUBE_APISERVER, ReferenceEvaluator.Kind.KUBE_APISERVER));
    List<ReferenceEvaluator.Party> peers = new ArrayList<>(pods);
    peers.addAll(others);

    boolean[] active = new boolean[policies.size()];
    long checks = 0;
    int subsets = 1 << policies.size();
    for (int step = 0; step < subsets; step++) {
      if (step > 0) {
        int bit = Integer.numberOfTrailingZeros(step);
        active[bit] = !active[bit];
        PolicyResource p = policies.get(bit);
        if (active[bit]) {
          compiler.putPolicy(p.ref(), p.rules());
        } else {
          compiler.removePolicy(p.ref());
        }
      }
      compiler.commit();
      List<PolicyRule> rules = new ArrayList<>();
      for (int i = 0; i < active.length; i++) {
        if (active[i]) {
          rules.addAll(policies.get(i).rules());
        }
      }
      ReferenceEvaluator reference = new ReferenceEvaluator(rules, settings, Set.of());
      for (ReferenceEvaluator.Party subject : pods) {
        IdentityPolicy compiled = compiler.get(subject.identity());
        assertThat(compiled)
            .as("step %d: incremental = full", step)
            .isEqualTo(compiler.compileFull(subject.identity()));
        for (Direction d : Direction.values()) {
          DirectionPolicy dp = compiled.direction(d);
          for (ReferenceEvaluator.Party peer : peers) {
            int peerId =
                peer.kind() == ReferenceEvaluator.Kind.WORLD
                    ? PolicyCompiler.outsideIdentity(
                        compiler.cidrIdentities(), peer.address(), Cidr.Family.IPV4)
                    : peer.identity();
            for (Probe probe : PROBES) {
              Verdict expected = reference.decide(subject, d, peer, probe.protocol(), probe.port());
              Decision got =
                  dp.decide(
                      peerId, peer.address(), Cidr.Family.IPV4, probe.protocol(), probe.port());
              if (got.verdict() != expected) {
                throw new AssertionError(
                    "policies "
                        + active(policies, active)
                        + ": "
                        + subject.labels()
                        + " "
                        + d
                        + " peer "
                        + (peer.kind() == ReferenceEvaluator.Kind.POD
                            ? peer.labels()
                            : peer.kind() + " " + peer.address())
                        + " "
                        + probe
                        + ": expected "
                        + expected
                        + ", compiled "
                        + got.verdict()
                        + " ("
                        + got.explain()
                        + ")");
              }
              checks++;
            }
          }
        }
      }
    }
    assertThat(checks).isEqualTo((long) subsets * pods.size() * 2 * peers.size() * PROBES.size());
  }

  private static List<String> active(List<PolicyResource> policies, boolean[] active) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < active.length; i++) {
      if (active[i]) {
        out.add(policies.get(i).id().name());
      }
    }
    return out;
  }

  private static ReferenceEvaluator.Party reserved(
      ReservedIdentity r, ReferenceEvaluator.Kind kind) {
    return new ReferenceEvaluator.Party(
        r.id().value(), r.labels(), kind, null, Cidr.Family.IPV4, List.of(), "");
  }

  static BigInteger address(String a) throws Exception {
    return new BigInteger(1, InetAddress.getByName(a).getAddress());
  }
}
