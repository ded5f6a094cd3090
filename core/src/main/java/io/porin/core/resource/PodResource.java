package io.porin.core.resource;

import io.porin.core.policy.NamedPort;
import io.porin.core.policy.Protocol;
import java.util.List;
import java.util.Map;

/** The part of a pod Porin needs: labels, node, and the container ports (named or not). */
public record PodResource(
    ResourceId id,
    Map<String, String> labels,
    Map<String, String> annotations,
    String nodeName,
    List<ContainerPort> ports,
    Map<String, Object> source)
    implements Resource {

  /** A container port, as declared: number, protocol and optional name. */
  public record ContainerPort(String container, String name, int port, Protocol protocol) {}

  public PodResource {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    ports = List.copyOf(ports);
  }

  /** The container ports that have a name, as named-port rules resolve them. */
  public List<NamedPort> namedPorts() {
    return ports.stream()
        .filter(p -> p.name() != null)
        .map(p -> new NamedPort(p.name(), p.protocol(), p.port()))
        .toList();
  }
}
