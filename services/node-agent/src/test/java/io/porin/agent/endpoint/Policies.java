package io.porin.agent.endpoint;

import io.porin.core.ipam.Cidr;
import io.porin.core.policy.CidrClass;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.Verdict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Compiled policies for the endpoint room's tests. */
final class Policies {
  private Policies() {}

  /** Ingress enforced with {@code n} entries (peers 100000.. on TCP 80). */
  static IdentityPolicy withEntries(int identity, int n) {
    Map<Integer, List<PolicyEntry>> byPeer = new HashMap<>();
    for (int i = 0; i < n; i++) {
      byPeer.put(
          100_000 + i,
          List.of(
              new PolicyEntry(100_000 + i, Protocol.TCP, 80, 24, Verdict.ALLOW, false, List.of())));
    }
    return new IdentityPolicy(
        identity,
        new DirectionPolicy(Direction.INGRESS, true, Verdict.DENY, List.of(), byPeer, List.of()),
        open(Direction.EGRESS));
  }

  /** Egress enforced, allowing TCP 443 to one ipBlock (class 1 of {@code cidr}). */
  static IdentityPolicy egressToBlock(int identity, String cidr) {
    int classId = CidrClass.CLASS_SCOPE | 1;
    PolicyEntry e =
        new PolicyEntry(classId, Protocol.TCP, 443, 24, Verdict.ALLOW, false, List.of());
    List<PolicyEntry> list = new ArrayList<>(List.of(e));
    return new IdentityPolicy(
        identity,
        open(Direction.INGRESS),
        new DirectionPolicy(
            Direction.EGRESS,
            true,
            Verdict.DENY,
            List.of(),
            Map.of(classId, list),
            List.of(new CidrClass(Cidr.parse(cidr), classId))));
  }

  static DirectionPolicy open(Direction d) {
    return new DirectionPolicy(d, false, Verdict.ALLOW, List.of(), Map.of(), List.of());
  }
}
