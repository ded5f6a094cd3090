package io.porin.agent.datapath;

import io.porin.core.ipam.Cidr;
import java.util.Map;

/** What one policy slot of an endpoint holds: the policy map and the ipBlock address classes. */
public record PolicyContent(
    Map<PolicyKey, PolicyValue> entries,
    Map<Cidr, Integer> ingressClasses,
    Map<Cidr, Integer> egressClasses) {

  public PolicyContent {
    entries = Map.copyOf(entries);
    ingressClasses = Map.copyOf(ingressClasses);
    egressClasses = Map.copyOf(egressClasses);
  }

  public static final PolicyContent EMPTY = new PolicyContent(Map.of(), Map.of(), Map.of());
}
