package io.porin.policy.grpc;

import io.porin.api.policy.v1.CidrClass;
import io.porin.api.policy.v1.Decision;
import io.porin.api.policy.v1.DirectionPatch;
import io.porin.api.policy.v1.DirectionPolicy;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.IdentityPolicyPatch;
import io.porin.api.policy.v1.PolicyEntry;
import io.porin.api.policy.v1.PolicyRef;
import io.porin.api.policy.v1.RuleRef;
import io.porin.api.policy.v1.Verdict;
import io.porin.core.labels.LabelSet;
import io.porin.core.policy.Direction;

/** Core policy types to their wire form. */
public final class ProtoMapping {
  private ProtoMapping() {}

  public static IdentityPolicy toProto(
      io.porin.core.policy.IdentityPolicy p, long revision, LabelSet labels) {
    IdentityPolicy.Builder b =
        IdentityPolicy.newBuilder()
            .setIdentity(p.identity())
            .setIngress(toProto(p.ingress()))
            .setEgress(toProto(p.egress()))
            .setEncrypt(p.encrypt())
            .setRevision(revision);
    if (labels != null) {
      b.addAllLabels(labels.strings());
    }
    return b.build();
  }

  /**
   * What changed from {@code old} to {@code now}: the peers whose entries differ, and flags.
   *
   * @param candidates the only peers that can differ (from the compiler), or null to compare all
   */
  public static IdentityPolicyPatch patch(
      io.porin.core.policy.IdentityPolicy old,
      io.porin.core.policy.IdentityPolicy now,
      java.util.Set<Integer> candidates) {
    return IdentityPolicyPatch.newBuilder()
        .setIdentity(now.identity())
        .setIngress(patch(old.ingress(), now.ingress(), candidates))
        .setEgress(patch(old.egress(), now.egress(), candidates))
        .setEncrypt(now.encrypt())
        .build();
  }

  private static DirectionPatch patch(
      io.porin.core.policy.DirectionPolicy old,
      io.porin.core.policy.DirectionPolicy now,
      java.util.Set<Integer> candidates) {
    DirectionPatch.Builder b =
        DirectionPatch.newBuilder()
            .setDirection(toProto(now.direction()))
            .setEnforced(now.enforced())
            .setDefaultVerdict(toProto(now.defaultVerdict()));
    now.defaultDenyBy().forEach(r -> b.addDefaultDenyBy(toProto(r)));
    now.cidrClasses().forEach(c -> b.addCidrClasses(toProto(c)));
    java.util.TreeSet<Integer> replaced = new java.util.TreeSet<>();
    for (int p : candidates != null ? candidates : allPeers(old, now)) {
      var before = old.byPeer().get(p);
      var after = now.byPeer().get(p);
      if (!java.util.Objects.equals(before, after)) {
        replaced.add(p);
      }
    }
    for (int p : replaced) {
      b.addReplacedPeers(p);
      for (io.porin.core.policy.PolicyEntry e : now.byPeer().getOrDefault(p, java.util.List.of())) {
        b.addEntries(toProto(e));
      }
    }
    return b.build();
  }

  private static java.util.Set<Integer> allPeers(
      io.porin.core.policy.DirectionPolicy old, io.porin.core.policy.DirectionPolicy now) {
    java.util.Set<Integer> all = new java.util.HashSet<>(old.byPeer().keySet());
    all.addAll(now.byPeer().keySet());
    return all;
  }

  public static PolicyEntry toProto(io.porin.core.policy.PolicyEntry e) {
    PolicyEntry.Builder eb =
        PolicyEntry.newBuilder()
            .setPeer(e.peer())
            .setProtocol(e.protocol().number())
            .setPort(e.port())
            .setPrefixLength(e.prefixLength())
            .setVerdict(toProto(e.verdict()))
            .setL7Redirect(e.l7Redirect());
    e.rules().forEach(r -> eb.addRules(toProto(r)));
    return eb.build();
  }

  public static DirectionPolicy toProto(io.porin.core.policy.DirectionPolicy d) {
    DirectionPolicy.Builder b =
        DirectionPolicy.newBuilder()
            .setDirection(toProto(d.direction()))
            .setEnforced(d.enforced())
            .setDefaultVerdict(toProto(d.defaultVerdict()));
    d.defaultDenyBy().forEach(r -> b.addDefaultDenyBy(toProto(r)));
    for (io.porin.core.policy.PolicyEntry e : d.entries()) {
      b.addEntries(toProto(e));
    }
    d.cidrClasses().forEach(c -> b.addCidrClasses(toProto(c)));
    return b.build();
  }

  public static CidrClass toProto(io.porin.core.policy.CidrClass c) {
    return CidrClass.newBuilder().setPrefix(c.prefix().toString()).setClassId(c.classId()).build();
  }

  public static io.porin.api.policy.v1.Direction toProto(Direction d) {
    return d == Direction.INGRESS
        ? io.porin.api.policy.v1.Direction.INGRESS
        : io.porin.api.policy.v1.Direction.EGRESS;
  }

  public static Verdict toProto(io.porin.core.policy.Verdict v) {
    return switch (v) {
      case ALLOW -> Verdict.ALLOW;
      case DENY -> Verdict.DENY;
      case AUDIT -> Verdict.AUDIT;
    };
  }

  public static PolicyRef toProto(io.porin.core.policy.PolicyRef r) {
    return PolicyRef.newBuilder()
        .setKind(r.kind().kind())
        .setNamespace(r.namespace())
        .setName(r.name())
        .build();
  }

  public static RuleRef toProto(io.porin.core.policy.RuleRef r) {
    return RuleRef.newBuilder()
        .setPolicy(toProto(r.policy()))
        .setSection(r.section())
        .setIndex(r.index())
        .build();
  }

  public static Decision toProto(io.porin.core.policy.Decision d) {
    Decision.Builder b =
        Decision.newBuilder()
            .setApplies(true)
            .setVerdict(toProto(d.verdict()))
            .setByDefault(d.byDefault())
            .setEnforced(d.enforced())
            .setExplanation(d.explain());
    d.rules().forEach(r -> b.addRules(toProto(r)));
    d.defaultDenyBy().forEach(r -> b.addDefaultDenyBy(toProto(r)));
    return b.build();
  }
}
