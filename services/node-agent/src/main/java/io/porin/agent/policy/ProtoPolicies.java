package io.porin.agent.policy;

import io.porin.api.policy.v1.DirectionPatch;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.CidrClass;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.Protocol;
import io.porin.core.policy.RuleRef;
import io.porin.core.policy.Verdict;
import io.porin.core.resource.ResourceKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The policy stream's messages, read back into core's model; and PATCH applied to a policy. */
public final class ProtoPolicies {
  private ProtoPolicies() {}

  public static IdentityPolicy toCore(io.porin.api.policy.v1.IdentityPolicy p) {
    return new IdentityPolicy(
        p.getIdentity(),
        toCore(Direction.INGRESS, p.getIngress()),
        toCore(Direction.EGRESS, p.getEgress()),
        p.getEncrypt());
  }

  private static DirectionPolicy toCore(Direction d, io.porin.api.policy.v1.DirectionPolicy p) {
    Map<Integer, List<PolicyEntry>> byPeer = new HashMap<>();
    for (io.porin.api.policy.v1.PolicyEntry e : p.getEntriesList()) {
      byPeer.computeIfAbsent(e.getPeer(), k -> new ArrayList<>()).add(toCore(e));
    }
    List<CidrClass> classes = new ArrayList<>();
    p.getCidrClassesList()
        .forEach(c -> classes.add(new CidrClass(Cidr.parse(c.getPrefix()), c.getClassId())));
    List<PolicyRef> by = new ArrayList<>();
    p.getDefaultDenyByList().forEach(r -> by.add(toCore(r)));
    return new DirectionPolicy(
        d, p.getEnforced(), verdict(p.getDefaultVerdict()), by, byPeer, classes);
  }

  private static PolicyEntry toCore(io.porin.api.policy.v1.PolicyEntry e) {
    List<RuleRef> rules = new ArrayList<>();
    e.getRulesList()
        .forEach(r -> rules.add(new RuleRef(toCore(r.getPolicy()), r.getSection(), r.getIndex())));
    return new PolicyEntry(
        e.getPeer(),
        protocol(e.getProtocol()),
        e.getPort(),
        e.getPrefixLength(),
        verdict(e.getVerdict()),
        e.getL7Redirect(),
        rules);
  }

  private static PolicyRef toCore(io.porin.api.policy.v1.PolicyRef r) {
    ResourceKind kind =
        ResourceKind.ofKind(r.getKind())
            .orElseThrow(() -> new IllegalArgumentException("unknown policy kind " + r.getKind()));
    return new PolicyRef(kind, r.getNamespace(), r.getName());
  }

  private static Protocol protocol(int number) {
    for (Protocol p : Protocol.values()) {
      if (p.number() == number) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown protocol number " + number);
  }

  private static Verdict verdict(io.porin.api.policy.v1.Verdict v) {
    return switch (v) {
      case DENY -> Verdict.DENY;
      case AUDIT -> Verdict.AUDIT;
      default -> Verdict.ALLOW;
    };
  }

  /** A policy with a PATCH applied: the patched peers' entries replaced, the rest kept. */
  public static io.porin.api.policy.v1.IdentityPolicy apply(
      io.porin.api.policy.v1.IdentityPolicy old,
      io.porin.api.policy.v1.IdentityPolicyPatch patch,
      long revision) {
    return old.toBuilder()
        .setRevision(revision)
        .setIngress(apply(old.getIngress(), patch.getIngress()))
        .setEgress(apply(old.getEgress(), patch.getEgress()))
        .setEncrypt(patch.getEncrypt())
        .build();
  }

  private static io.porin.api.policy.v1.DirectionPolicy apply(
      io.porin.api.policy.v1.DirectionPolicy old, DirectionPatch p) {
    Set<Integer> replaced = new HashSet<>(p.getReplacedPeersList());
    io.porin.api.policy.v1.DirectionPolicy.Builder b =
        old.toBuilder()
            .setEnforced(p.getEnforced())
            .setDefaultVerdict(p.getDefaultVerdict())
            .clearDefaultDenyBy()
            .addAllDefaultDenyBy(p.getDefaultDenyByList())
            .clearCidrClasses()
            .addAllCidrClasses(p.getCidrClassesList())
            .clearEntries();
    for (io.porin.api.policy.v1.PolicyEntry e : old.getEntriesList()) {
      if (!replaced.contains(e.getPeer())) {
        b.addEntries(e);
      }
    }
    b.addAllEntries(p.getEntriesList());
    return b.build();
  }
}
