package io.porin.bench.policy;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A cluster-sized policy workload: N namespaces of 100 identities each (20 apps x 5 versions), and
 * 10 policies per namespace in a realistic mix:
 *
 * <ul>
 *   <li>namespace isolation (CNP: ingress from and egress to the own namespace, DNS allowed);
 *   <li>five app-to-app L4 rules (CNP: app aX from app aY on 8080/TCP and 9000-9015/TCP);
 *   <li>a Kubernetes NetworkPolicy: app from pods of another team's namespaces on 443;
 *   <li>a CIDR egress rule (10.(ns).0.0/16 except a /24, 443/TCP);
 *   <li>an entity rule (world and kube-apiserver on 443);
 *   <li>a deny rule (ingressDeny from one other namespace).
 * </ul>
 */
public final class PolicyWorkload {
  public static final int PER_NAMESPACE = 100;

  private PolicyWorkload() {}

  /** The identity of pod (namespace n, app a, version v), cluster 1. */
  public static int identity(int ns, int app, int version) {
    return NumericIdentity.ofCluster(1, 256 + ns * PER_NAMESPACE + app * 5 + version).value();
  }

  public static LabelSet labels(int ns, int app, int version) {
    return LabelFilter.defaults()
        .filter(
            EndpointLabels.all(
                "ns" + ns,
                Map.of("app", "a" + app, "version", "v" + version),
                Map.of("team", "t" + (ns % 10))))
        .identityLabels();
  }

  /** Every identity and its labels. */
  public static Map<Integer, LabelSet> identities(int namespaces) {
    Map<Integer, LabelSet> out = new LinkedHashMap<>();
    for (int ns = 0; ns < namespaces; ns++) {
      for (int app = 0; app < 20; app++) {
        for (int v = 0; v < 5; v++) {
          out.put(identity(ns, app, v), labels(ns, app, v));
        }
      }
    }
    return out;
  }

  /** The policies of one namespace as YAML documents (10 per namespace). */
  public static List<String> policies(int ns, int namespaces, int variant) {
    String n = "ns" + ns;
    List<String> out = new ArrayList<>();
    out.add(
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: isolation, namespace: %s}
        spec:
          endpointSelector: {}
          ingress:
          - fromEndpoints: [{}]
          egress:
          - toEndpoints: [{}]
          - toEntities: [dns]
        """
            .formatted(n));
    for (int i = 0; i < 5; i++) {
      int to = (i * 3 + variant) % 20;
      int from = (i * 3 + 1) % 20;
      out.add(
          """
          apiVersion: cilium.io/v2
          kind: CiliumNetworkPolicy
          metadata: {name: app-%d, namespace: %s}
          spec:
            endpointSelector: {matchLabels: {app: a%d}}
            ingress:
            - fromEndpoints: [{matchLabels: {app: a%d}}]
              toPorts: [{ports: [{port: "%d", protocol: TCP}, {port: "9000", endPort: 9015, protocol: TCP}]}]
          """
              .formatted(i, n, to, from, 8080 + variant));
    }
    out.add(
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: from-team, namespace: %s}
        spec:
          podSelector: {matchLabels: {app: a19}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {team: t%d}}
              podSelector: {matchLabels: {app: a18}}
            ports: [{port: 443}]
        """
            .formatted(n, (ns + 1) % 10));
    out.add(
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: cidr-out, namespace: %s}
        spec:
          endpointSelector: {matchLabels: {app: a17}}
          egress:
          - toCIDRSet: [{cidr: 10.%d.0.0/16, except: [10.%d.1.0/24]}]
            toPorts: [{ports: [{port: "443", protocol: TCP}]}]
        """
            .formatted(n, ns % 250, ns % 250));
    out.add(
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: entities, namespace: %s}
        spec:
          endpointSelector: {matchLabels: {app: a16}}
          egress:
          - toEntities: [world, kube-apiserver]
            toPorts: [{ports: [{port: "443", protocol: TCP}]}]
        """
            .formatted(n));
    out.add(
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny-neighbour, namespace: %s}
        spec:
          endpointSelector: {}
          ingressDeny:
          - fromEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: ns%d}}]
        """
            .formatted(n, (ns + 1) % namespaces));
    return out;
  }
}
