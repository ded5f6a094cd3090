package io.porin.core.resource;

import io.porin.core.policy.Protocol;
import java.util.List;
import java.util.Map;

/**
 * A service: the pods it selects and its ports, each with a target port by number or by name.
 *
 * <p>{@code clusterIPs} are the addresses the user asked for ({@code spec.clusterIP} and {@code
 * spec.clusterIPs}; empty: allocate; {@code ["None"]}: headless). {@code affinityTimeout} is the
 * {@code ClientIP} session affinity timeout in seconds, 0 without affinity. {@code algorithm} is
 * {@code random} or {@code maglev} ({@value #LB_ALGORITHM_ANNOTATION}).
 */
public record ServiceResource(
    ResourceId id,
    Map<String, String> labels,
    Map<String, String> annotations,
    String type,
    Map<String, String> selector,
    List<ServicePort> ports,
    List<String> clusterIPs,
    int affinityTimeout,
    String algorithm,
    Map<String, Object> source)
    implements Resource {

  /** The annotation that picks the load-balancing algorithm (Cilium's). */
  public static final String LB_ALGORITHM_ANNOTATION = "service.cilium.io/lb-algorithm";

  /** Cilium's annotation making a service global: its backends in every connected cluster. */
  public static final String GLOBAL_ANNOTATION = "service.cilium.io/global";

  /** Cilium's annotation: "false" keeps a global service's local backends from other clusters. */
  public static final String SHARED_ANNOTATION = "service.cilium.io/shared";

  /** Cilium's annotation: which clusters' backends a global service prefers. */
  public static final String AFFINITY_ANNOTATION = "service.cilium.io/affinity";

  /** The ClientIP affinity timeout Kubernetes defaults to (3 hours). */
  public static final int DEFAULT_AFFINITY_TIMEOUT = 10800;

  /** The value of {@code clusterIP} that makes a service headless. */
  public static final String HEADLESS = "None";

  /**
   * One port; {@code targetPortName} is set when the target port is a container port's name; {@code
   * nodePort} is 0 when not asked for (allocated for NodePort services).
   */
  public record ServicePort(
      String name,
      int port,
      Protocol protocol,
      int targetPort,
      String targetPortName,
      int nodePort) {
    public ServicePort(
        String name, int port, Protocol protocol, int targetPort, String targetPortName) {
      this(name, port, protocol, targetPort, targetPortName, 0);
    }
  }

  public ServiceResource {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    selector = Map.copyOf(selector);
    ports = List.copyOf(ports);
    clusterIPs = List.copyOf(clusterIPs);
  }

  /**
   * How the service spans a cluster mesh, from its annotations (checked by the parser: {@code
   * global} and {@code shared} are "true" or "false", {@code affinity} local, remote or none).
   */
  public io.porin.core.service.ServiceRecord.Mesh mesh() {
    boolean global = "true".equals(annotations.get(GLOBAL_ANNOTATION));
    if (!global) {
      return io.porin.core.service.ServiceRecord.Mesh.LOCAL;
    }
    return new io.porin.core.service.ServiceRecord.Mesh(
        true,
        !"false".equals(annotations.get(SHARED_ANNOTATION)),
        io.porin.core.service.ServiceRecord.Affinity.valueOf(
            annotations
                .getOrDefault(AFFINITY_ANNOTATION, "none")
                .toUpperCase(java.util.Locale.ROOT)));
  }

  /** Whether the service has no cluster IP (DNS answers with its backends' addresses). */
  public boolean headless() {
    return clusterIPs.contains(HEADLESS);
  }

  /** Whether each node's underlay address serves the service on its node ports. */
  public boolean nodePorts() {
    return type.equals("NodePort") || type.equals("LoadBalancer");
  }
}
