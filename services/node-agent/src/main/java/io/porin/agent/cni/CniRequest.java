package io.porin.agent.cni;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * One CNI call as the plugin forwarded it: the command, the CNI_* environment, and the network
 * configuration.
 *
 * @param args CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, ...)
 */
public record CniRequest(
    String command,
    String containerId,
    String netns,
    String ifname,
    Map<String, String> args,
    JsonNode config,
    String cniVersion) {

  public String podNamespace() {
    return args.getOrDefault("K8S_POD_NAMESPACE", "default");
  }

  public String podName() {
    return args.getOrDefault("K8S_POD_NAME", "");
  }

  /** The pod interface this call is about. */
  public io.porin.agent.endpoint.PodRequest pod() {
    return new io.porin.agent.endpoint.PodRequest(
        containerId, netns, ifname, podNamespace(), podName());
  }
}
