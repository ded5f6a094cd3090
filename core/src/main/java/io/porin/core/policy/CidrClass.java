package io.porin.core.policy;

import io.porin.core.ipam.Cidr;

/**
 * A prefix of an endpoint's address-based rules (Kubernetes {@code ipBlock}), flattened so that a
 * longest-prefix lookup of an address gives exactly the rules that match it: {@code classId} is a
 * peer value in the endpoint's policy entries. Class ids live in their own range ({@link
 * #CLASS_SCOPE}), are per endpoint policy and never appear on packets.
 */
public record CidrClass(Cidr prefix, int classId) {
  /** The high byte of class ids (Cilium uses 0x00-0x02 for identity scopes). */
  public static final int CLASS_SCOPE = 0x7F000000;
}
