package io.porin.agent.endpoint;

/**
 * A pod interface the runtime asks for (CNI ADD, DEL, CHECK).
 *
 * @param netns the pod's network namespace (a path); may be empty for DEL
 * @param namespace the pod's Kubernetes namespace
 * @param pod the pod's name (empty when the runtime did not say)
 */
public record PodRequest(
    String containerId, String netns, String ifname, String namespace, String pod) {

  /** The owner of the pod's addresses in the node's allocators. */
  public String owner() {
    return containerId + "/" + ifname;
  }
}
