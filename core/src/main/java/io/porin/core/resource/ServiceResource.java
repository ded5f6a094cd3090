package io.porin.core.resource;

import io.porin.core.policy.Protocol;
import java.util.List;
import java.util.Map;

/** A service: the pods it selects and its ports, each with a target port by number or by name. */
public record ServiceResource(
    ResourceId id,
    Map<String, String> labels,
    Map<String, String> annotations,
    String type,
    Map<String, String> selector,
    List<ServicePort> ports,
    Map<String, Object> source)
    implements Resource {

  /** One port; {@code targetPortName} is set when the target port is a container port's name. */
  public record ServicePort(
      String name, int port, Protocol protocol, int targetPort, String targetPortName) {}

  public ServiceResource {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    selector = Map.copyOf(selector);
    ports = List.copyOf(ports);
  }
}
