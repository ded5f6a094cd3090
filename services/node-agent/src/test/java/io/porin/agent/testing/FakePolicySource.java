package io.porin.agent.testing;

import io.porin.agent.control.PolicySource;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The policy stream in memory: what it delivered per identity, and what the node subscribed. */
public final class FakePolicySource implements PolicySource {
  public final Map<Integer, IdentityPolicy> policies = new HashMap<>();
  public volatile Set<Integer> subscribed = Set.of();
  public long revision = 1;

  @Override
  public synchronized Optional<IdentityPolicy> policy(int identity) {
    return Optional.ofNullable(policies.get(identity));
  }

  @Override
  public synchronized long revision() {
    return revision;
  }

  @Override
  public void setIdentities(Set<Integer> hosted) {
    subscribed = Set.copyOf(hosted);
  }

  /** A policy: ingress enforced (default deny) admitting {@code peer} on TCP {@code port}. */
  public static IdentityPolicy admitting(int identity, int peer, int port) {
    PolicyEntry e = new PolicyEntry(peer, Protocol.TCP, port, 24, Verdict.ALLOW, false, List.of());
    return new IdentityPolicy(
        identity,
        new DirectionPolicy(
            Direction.INGRESS, true, Verdict.DENY, List.of(), Map.of(peer, List.of(e)), List.of()),
        new DirectionPolicy(
            Direction.EGRESS, false, Verdict.ALLOW, List.of(), Map.of(), List.of()));
  }
}
