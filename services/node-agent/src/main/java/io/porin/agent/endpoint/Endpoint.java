package io.porin.agent.endpoint;

import java.util.List;

/**
 * A pod's endpoint on this node, as saved between agent restarts.
 *
 * @param id the endpoint ID (unique on this node; keys its policy map)
 * @param hostInterface the host side of the veth pair, in the agent's namespace
 * @param ipv6 null when the node has no IPv6 CIDR
 */
// read and written by Jackson (EndpointStore): a native image must keep its accessors
@io.quarkus.runtime.annotations.RegisterForReflection
public record Endpoint(
    int id,
    String containerId,
    String ifname,
    String netns,
    String namespace,
    String pod,
    String hostInterface,
    int ifindex,
    String hostMac,
    String podMac,
    String ipv4,
    String ipv6,
    int identity,
    List<String> labels) {

  public Endpoint {
    labels = List.copyOf(labels);
  }

  /** {@code namespace/pod}, or the container ID when the pod is unnamed. */
  public String displayName() {
    return pod == null || pod.isEmpty() ? containerId : namespace + "/" + pod;
  }

  /** The endpoint with another identity, of these labels (a relabelled pod). */
  public Endpoint withIdentity(int newIdentity, List<String> newLabels) {
    return new Endpoint(
        id,
        containerId,
        ifname,
        netns,
        namespace,
        pod,
        hostInterface,
        ifindex,
        hostMac,
        podMac,
        ipv4,
        ipv6,
        newIdentity,
        newLabels);
  }

  public Endpoint withIfindex(int newIfindex) {
    return new Endpoint(
        id,
        containerId,
        ifname,
        netns,
        namespace,
        pod,
        hostInterface,
        newIfindex,
        hostMac,
        podMac,
        ipv4,
        ipv6,
        identity,
        labels);
  }
}
