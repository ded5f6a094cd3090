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

  /** Whether the service has no cluster IP (DNS answers with its backends' addresses). */
  public boolean headless() {
    return clusterIPs.contains(HEADLESS);
  }

  /** Whether each node's underlay address serves the service on its node ports. */
  public boolean nodePorts() {
    return type.equals("NodePort") || type.equals("LoadBalancer");
  }
}
