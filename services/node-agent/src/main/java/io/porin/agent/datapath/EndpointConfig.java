package io.porin.agent.datapath;

/**
 * What the datapath knows of one local endpoint (the value of {@code porin_endpoints}), replaced
 * whole in one update: a packet sees identity, revision, defaults and policy slot together.
 *
 * @param policyRevision unique on the node: conntrack entries decided under another revision are
 *     decided again
 * @param policySlot which of the endpoint's two policy buffers is live (0 or 1)
 * @param ipv4 the pod's IPv4 address (the only one it may send from)
 * @param ipv6 the pod's IPv6 address, or null when it has none
 */
public record EndpointConfig(
    int endpointId,
    int identity,
    int policyRevision,
    int policySlot,
    int flags,
    int ingressDefault,
    int egressDefault,
    int ingressDefaultCookie,
    int egressDefaultCookie,
    String podMac,
    String hostMac,
    String ipv4,
    String ipv6) {

  public EndpointConfig withRevision(int revision, int slot) {
    return new EndpointConfig(
        endpointId,
        identity,
        revision,
        slot,
        flags,
        ingressDefault,
        egressDefault,
        ingressDefaultCookie,
        egressDefaultCookie,
        podMac,
        hostMac,
        ipv4,
        ipv6);
  }

  /** Whether two configs differ in more than revision and slot (a policy change needs both). */
  public boolean sameSettings(EndpointConfig o) {
    return o != null && equals(o.withRevision(policyRevision, policySlot));
  }
}
