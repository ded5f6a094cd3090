package io.porin.core.service;

import io.porin.core.policy.Protocol;
import io.porin.core.resource.PodResource;
import io.porin.core.resource.ServiceResource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the EndpointSlice controller does, for the standalone store: a Service's backends are the
 * pods of its namespace that its selector matches and that have an address (their agent published
 * an endpoint). A pod that is gone from the store while its endpoint is still published (its
 * workload is stopping) stays a backend in state {@code terminating}, as Kubernetes reports a
 * terminating endpoint, and leaves with its endpoint.
 */
public final class ServiceBackends {
  private ServiceBackends() {}

  /** A published endpoint address: which pod on which node. */
  public record EndpointAddress(String namespace, String pod, String node, String ip) {}

  /**
   * The service's record.
   *
   * @param pods the pods of the service's namespace (others are ignored)
   * @param endpoints every published endpoint address (others are ignored)
   * @param previous the service's last record, or null: its backends that lost their pod but not
   *     their address are terminating
   */
  public static ServiceRecord record(
      ServiceResource svc,
      List<PodResource> pods,
      List<EndpointAddress> endpoints,
      ServiceRecord previous) {
    String ns = svc.id().namespace();
    Map<String, List<EndpointAddress>> byPod = new LinkedHashMap<>();
    for (EndpointAddress e : endpoints) {
      if (e.namespace().equals(ns)) {
        byPod.computeIfAbsent(e.pod(), k -> new ArrayList<>()).add(e);
      }
    }
    List<ServiceRecord.Backend> backends = new ArrayList<>();
    java.util.Set<String> present = new java.util.HashSet<>();
    if (!svc.selector().isEmpty()) {
      for (PodResource p : pods) {
        if (!p.id().namespace().equals(ns) || !selects(svc.selector(), p.labels())) {
          continue;
        }
        present.add(p.id().name());
        List<EndpointAddress> addrs = byPod.get(p.id().name());
        if (addrs != null && p.nodeName() != null && !p.nodeName().isEmpty()) {
          // only the node the pod runs on speaks for its addresses: another node claiming the
          // pod's name does not become its backend
          addrs = addrs.stream().filter(a -> a.node().equals(p.nodeName())).toList();
        }
        if (addrs == null || addrs.isEmpty()) {
          continue; // not running yet: no address
        }
        backends.add(backend(p.id().name(), addrs, ServiceRecord.State.ACTIVE, ports(svc, p)));
      }
    }
    if (previous != null) {
      for (ServiceRecord.Backend b : previous.backends()) {
        boolean podGone = pods.stream().noneMatch(p -> p.id().name().equals(b.pod()));
        List<EndpointAddress> addrs = byPod.get(b.pod());
        if (podGone && !present.contains(b.pod()) && addrs != null) {
          backends.add(
              backend(
                  b.pod(), addrs, ServiceRecord.State.TERMINATING, carriedPorts(svc, previous, b)));
        }
      }
    }
    backends.sort(Comparator.comparing(ServiceRecord.Backend::pod));
    List<ServiceRecord.Port> ports = new ArrayList<>();
    for (ServiceResource.ServicePort p : svc.ports()) {
      ports.add(new ServiceRecord.Port(p.name(), p.port(), p.protocol(), p.nodePort()));
    }
    return new ServiceRecord(
        ns,
        svc.id().name(),
        svc.type(),
        svc.headless() ? List.of() : svc.clusterIPs(),
        svc.headless(),
        ports,
        svc.affinityTimeout(),
        svc.algorithm(),
        backends,
        svc.mesh());
  }

  private static ServiceRecord.Backend backend(
      String pod, List<EndpointAddress> addrs, ServiceRecord.State state, List<Integer> ports) {
    List<String> ips =
        addrs.stream()
            .map(EndpointAddress::ip)
            .sorted(Comparator.comparing((String ip) -> ip.contains(":")).thenComparing(s -> s))
            .toList();
    return new ServiceRecord.Backend(pod, addrs.getFirst().node(), ips, state, ports);
  }

  /**
   * A terminating backend's targets (its pod is gone, so names cannot be resolved again): each
   * current service port takes the target the previous record had for the same port and protocol; 0
   * (no backend for that port) where the previous record had no such port.
   */
  static List<Integer> carriedPorts(
      ServiceResource svc, ServiceRecord previous, ServiceRecord.Backend b) {
    List<Integer> out = new ArrayList<>();
    for (ServiceResource.ServicePort p : svc.ports()) {
      int target = 0;
      for (int i = 0; i < previous.ports().size() && i < b.ports().size(); i++) {
        ServiceRecord.Port q = previous.ports().get(i);
        if (q.port() == p.port() && q.protocol() == p.protocol()) {
          target = b.ports().get(i);
        }
      }
      out.add(target);
    }
    return out;
  }

  /** Each service port's target on this pod: the number, or the pod's port of that name. */
  static List<Integer> ports(ServiceResource svc, PodResource pod) {
    List<Integer> out = new ArrayList<>();
    for (ServiceResource.ServicePort p : svc.ports()) {
      if (p.targetPortName() == null) {
        out.add(p.targetPort());
        continue;
      }
      int found = 0;
      for (PodResource.ContainerPort c : pod.ports()) {
        if (p.targetPortName().equals(c.name()) && protocolMatches(c.protocol(), p.protocol())) {
          found = c.port();
          break;
        }
      }
      out.add(found);
    }
    return out;
  }

  private static boolean protocolMatches(Protocol a, Protocol b) {
    return a == b;
  }

  /** A Service selector: every key present with that value (no expressions in Services). */
  static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    for (Map.Entry<String, String> e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
