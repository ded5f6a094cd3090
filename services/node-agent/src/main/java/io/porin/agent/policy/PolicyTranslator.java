package io.porin.agent.policy;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.CidrClass;
import io.porin.core.policy.Direction;
import io.porin.core.policy.DirectionPolicy;
import io.porin.core.policy.IdentityPolicy;
import io.porin.core.policy.PolicyEntry;
import io.porin.core.policy.Verdict;
import java.util.HashMap;
import java.util.Map;

/**
 * Turns an identity's compiled policy into what the datapath holds for an endpoint: policy map
 * entries, ipBlock address classes per direction, and the endpoint's flags and defaults.
 */
public final class PolicyTranslator {
  /**
   * Everything the kernel gets for one endpoint's policy: what a policy slot holds, and the
   * endpoint's flags and defaults.
   */
  public record Translated(
      PolicyContent content,
      int flags,
      int ingressDefault,
      int egressDefault,
      int ingressDefaultCookie,
      int egressDefaultCookie) {

    public Map<PolicyKey, PolicyValue> entries() {
      return content.entries();
    }

    public Map<Cidr, Integer> ingressClasses() {
      return content.ingressClasses();
    }

    public Map<Cidr, Integer> egressClasses() {
      return content.egressClasses();
    }

    /** The endpoint map value for this policy, in a slot and with a revision. */
    public EndpointConfig endpoint(
        int endpointId,
        int identity,
        int revision,
        int slot,
        String podMac,
        String hostMac,
        String ipv4,
        String ipv6) {
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
  }

  private final Cookies cookies;

  public PolicyTranslator(Cookies cookies) {
    this.cookies = cookies;
  }

  public Translated translate(IdentityPolicy policy) {
    Translated t = translate(policy.ingress(), policy.egress());
    if (!policy.encrypt()) {
      return t;
    }
    return new Translated(
        t.content(),
        t.flags() | MapLayouts.EP_ENCRYPT_STRICT,
        t.ingressDefault(),
        t.egressDefault(),
        t.ingressDefaultCookie(),
        t.egressDefaultCookie());
  }

  public Translated translate(DirectionPolicy ingress, DirectionPolicy egress) {
    Map<PolicyKey, PolicyValue> entries = new HashMap<>();
    Map<Cidr, Integer> inClasses = new HashMap<>();
    Map<Cidr, Integer> outClasses = new HashMap<>();
    int flags = 0;
    flags |= add(ingress, MapLayouts.DIR_INGRESS, entries, inClasses);
    flags |= add(egress, MapLayouts.DIR_EGRESS, entries, outClasses);
    return new Translated(
        new PolicyContent(entries, inClasses, outClasses),
        flags,
        verdict(ingress.defaultVerdict()),
        verdict(egress.defaultVerdict()),
        ingress.enforced() ? cookies.ofDefault(ingress.defaultDenyBy()) : 0,
        egress.enforced() ? cookies.ofDefault(egress.defaultDenyBy()) : 0);
  }

  /** A policy that denies everything in both directions (policy unknown, or map overflow). */
  public Translated lockdown() {
    int cookie = cookies.ofDefault(java.util.List.of());
    return new Translated(
        PolicyContent.EMPTY,
        MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS,
        MapLayouts.POLICY_DENY,
        MapLayouts.POLICY_DENY,
        cookie,
        cookie);
  }

  private int add(
      DirectionPolicy d, int dir, Map<PolicyKey, PolicyValue> entries, Map<Cidr, Integer> classes) {
    if (!d.enforced()) {
      return 0;
    }
    for (PolicyEntry e : d.entries()) {
      entries.put(
          new PolicyKey(e.peer(), dir, e.protocol().number(), e.port(), e.prefixLength()),
          new PolicyValue(verdict(e.verdict()), cookies.ofRules(e.rules())));
    }
    for (CidrClass c : d.cidrClasses()) {
      classes.put(c.prefix(), c.classId());
    }
    int flags =
        dir == MapLayouts.DIR_INGRESS
            ? MapLayouts.EP_ENFORCE_INGRESS
            : MapLayouts.EP_ENFORCE_EGRESS;
    if (!classes.isEmpty()) {
      flags |=
          dir == MapLayouts.DIR_INGRESS
              ? MapLayouts.EP_CIDR_CLASSES_INGRESS
              : MapLayouts.EP_CIDR_CLASSES_EGRESS;
    }
    return flags;
  }

  static int verdict(Verdict v) {
    return switch (v) {
      case ALLOW -> MapLayouts.POLICY_ALLOW;
      case AUDIT -> MapLayouts.POLICY_AUDIT;
      case DENY -> MapLayouts.POLICY_DENY;
    };
  }

  /** The map direction of a policy direction. */
  public static int direction(Direction d) {
    return d == Direction.INGRESS ? MapLayouts.DIR_INGRESS : MapLayouts.DIR_EGRESS;
  }
}
