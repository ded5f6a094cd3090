package io.porin.core.policy;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.NamespaceResource;
import io.porin.core.resource.PodResource;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small cluster for table tests: Namespaces, Pods and policies from YAML; each pod gets an
 * identity from its labels (cluster 1) and an address 10.0.0.N in order. Flows are decided from the
 * compiled maps, as the datapath would.
 */
final class Scenario {
  final PolicyCompiler compiler;
  final Map<String, PodResource> pods = new LinkedHashMap<>();
  final Map<String, Integer> podIdentity = new HashMap<>();
  final Map<String, BigInteger> podAddress = new HashMap<>();
  final List<PolicyResource> policies = new ArrayList<>();

  /** A peer: a pod, a reserved identity, or an address outside the cluster. */
  record Endpoint(int identity, BigInteger address, Cidr.Family family) {}

  Scenario(String yaml, PolicySettings settings) {
    compiler = new PolicyCompiler(settings);
    ResourceParser.Result r = ResourceParser.parse(yaml);
    if (!r.refusals().isEmpty()) {
      throw new AssertionError("scenario YAML refused: " + r.refusals());
    }
    Map<String, NamespaceResource> namespaces = new HashMap<>();
    for (Resource res : r.resources()) {
      if (res instanceof NamespaceResource ns) {
        namespaces.put(ns.name(), ns);
      }
    }
    Map<LabelSet, Integer> ids = new HashMap<>();
    int n = 0;
    for (Resource res : r.resources()) {
      switch (res) {
        case PodResource p -> {
          n++;
          LabelSet labels =
              EndpointLabels.identity(
                  "default", p, namespaces.get(p.id().namespace()), LabelFilter.defaults());
          int id =
              ids.computeIfAbsent(
                  labels, l -> NumericIdentity.ofCluster(1, 256 + ids.size()).value());
          String key = p.id().displayName();
          pods.put(key, p);
          podIdentity.put(key, id);
          podAddress.put(key, BigInteger.valueOf((10L << 24) | n));
          compiler.putIdentity(id, labels);
          compiler.putEndpoint(key, id, p.namedPorts());
        }
        case PolicyResource pr -> {
          if (!pr.enforceable()) {
            throw new AssertionError("not enforceable: " + pr.notYetEnforced());
          }
          policies.add(pr);
          compiler.putPolicy(pr.ref(), pr.rules());
        }
        default -> {}
      }
    }
    compiler.setAuditNamespaces(
        namespaces.values().stream()
            .filter(NamespaceResource::audited)
            .map(NamespaceResource::name)
            .collect(java.util.stream.Collectors.toSet()));
    compiler.commit();
  }

  Scenario(String yaml) {
    this(yaml, PolicySettings.defaults(1));
  }

  Endpoint pod(String nsName) {
    Integer id = podIdentity.get(nsName);
    if (id == null) {
      throw new AssertionError("no pod " + nsName);
    }
    return new Endpoint(id, podAddress.get(nsName), Cidr.Family.IPV4);
  }

  static Endpoint reserved(ReservedIdentity r) {
    return new Endpoint(r.id().value(), null, Cidr.Family.IPV4);
  }

  /** An address outside the cluster: its identity is the longest CIDR identity, else world. */
  Endpoint world(String address) {
    try {
      byte[] b = InetAddress.getByName(address).getAddress();
      BigInteger a = new BigInteger(1, b);
      Cidr.Family f = b.length == 4 ? Cidr.Family.IPV4 : Cidr.Family.IPV6;
      int id = PolicyCompiler.outsideIdentity(compiler.cidrIdentities(), a, f);
      return new Endpoint(id, a, f);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(address);
    }
  }

  /** The decision of one side: {@code subject}'s policy in direction d about {@code peer}. */
  Decision decide(Endpoint subject, Direction d, Endpoint peer, Protocol proto, int port) {
    IdentityPolicy p = compiler.get(subject.identity());
    if (p == null) {
      throw new AssertionError("identity " + subject.identity() + " not compiled");
    }
    return p.direction(d).decide(peer.identity(), peer.address(), peer.family(), proto, port);
  }

  /** Egress of the sender (if it is a pod), then ingress of the receiver (if it is a pod). */
  Verdict flow(Endpoint from, Endpoint to, Protocol proto, int port) {
    Verdict v = Verdict.ALLOW;
    if (compiler.get(from.identity()) != null) {
      v = Verdict.max(v, decide(from, Direction.EGRESS, to, proto, port).verdict());
    }
    if (compiler.get(to.identity()) != null) {
      v = Verdict.max(v, decide(to, Direction.INGRESS, from, proto, port).verdict());
    }
    return v;
  }

  Verdict flow(String from, String to, Protocol proto, int port) {
    return flow(pod(from), pod(to), proto, port);
  }
}
