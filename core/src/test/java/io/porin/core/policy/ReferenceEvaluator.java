package io.porin.core.policy;

import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelSet;
import java.math.BigInteger;
import java.util.List;
import java.util.Set;

/**
 * The naive reading of the policy semantics, written apart from the compiler and used to check it:
 * for one flow direction it walks every rule of every policy and asks "does this rule select the
 * subject, the peer, the protocol and the port?" — no maps, no prefixes, no caches.
 */
final class ReferenceEvaluator {

  /** Something that sends or receives: labels (pods and reserved), kind, address, named ports. */
  record Party(
      int identity,
      LabelSet labels,
      Kind kind,
      BigInteger address,
      Cidr.Family family,
      List<NamedPort> namedPorts,
      String namespace) {}

  enum Kind {
    POD,
    HOST,
    REMOTE_NODE,
    KUBE_APISERVER,
    HEALTH,
    WORLD
  }

  private final List<PolicyRule> rules;
  private final PolicySettings settings;
  private final Set<String> auditNamespaces;

  ReferenceEvaluator(List<PolicyRule> rules, PolicySettings settings, Set<String> auditNamespaces) {
    this.rules = rules;
    this.settings = settings;
    this.auditNamespaces = auditNamespaces;
  }

  /** The verdict of {@code subject}'s policy in direction d for traffic with {@code peer}. */
  Verdict decide(Party subject, Direction d, Party peer, Protocol proto, int port) {
    if (settings.mode() == EnforcementMode.NEVER) {
      return Verdict.ALLOW;
    }
    boolean endpointAudit = settings.auditAll() || auditNamespaces.contains(subject.namespace());
    boolean anyEnforcingSection = false;
    boolean anyAuditedSection = false;
    boolean hardDeny = false;
    boolean softDeny = false;
    boolean allow = false;
    List<PolicyRule> selecting = selecting(subject);
    for (PolicyRule r : selecting) {
      boolean section = r.hasSection(d);
      Boolean flag = d == Direction.INGRESS ? r.defaultDenyIngress() : r.defaultDenyEgress();
      if (section && flag != Boolean.FALSE) {
        if (r.audited()) {
          anyAuditedSection = true;
        } else {
          anyEnforcingSection = true;
        }
      }
    }
    for (PolicyRule r : selecting) {
      for (RuleItem item : r.items()) {
        if (item.direction() != d) {
          continue;
        }
        if (!peerMatches(item, subject, d, peer)
            || !portMatches(item, subject, d, peer, proto, port)) {
          continue;
        }
        if (item.deny()) {
          if (r.audited() || endpointAudit) {
            softDeny = true;
          } else {
            hardDeny = true;
          }
        } else {
          allow = true;
        }
      }
    }
    if (hardDeny) {
      return Verdict.DENY;
    }
    if (softDeny) {
      return Verdict.AUDIT;
    }
    if (allow) {
      return Verdict.ALLOW;
    }
    boolean defaultDeny =
        settings.mode() == EnforcementMode.ALWAYS || anyEnforcingSection || anyAuditedSection;
    if (!defaultDeny) {
      return Verdict.ALLOW;
    }
    if (endpointAudit) {
      return Verdict.AUDIT;
    }
    if (anyEnforcingSection || settings.mode() == EnforcementMode.ALWAYS) {
      return Verdict.DENY;
    }
    return Verdict.AUDIT;
  }

  private boolean peerMatches(RuleItem item, Party subject, Direction d, Party peer) {
    List<Selector> requires = item.deny() ? List.of() : requirements(subject, d);
    if (item.peers() == null) {
      return requires.isEmpty()
          || requires.stream().allMatch(s -> labelled(peer) && s.matches(peer.labels()));
    }
    for (Peer p : item.peers()) {
      boolean hit =
          switch (p) {
            case Peer.Endpoints e ->
                labelled(peer)
                    && e.selector().matches(peer.labels())
                    && requires.stream().allMatch(s -> s.matches(peer.labels()));
            case Peer.Entities en -> entity(en.entity(), peer);
            case Peer.Addresses a -> {
              if (!a.ipBlock() && peer.kind() != Kind.WORLD) {
                yield false;
              }
              if (peer.address() == null || peer.family() != a.base().family()) {
                yield false;
              }
              boolean in = a.base().contains(peer.address());
              for (Cidr e : a.except()) {
                if (e.contains(peer.address())) {
                  in = false;
                }
              }
              yield in;
            }
          };
      if (hit) {
        return true;
      }
    }
    return false;
  }

  private static boolean labelled(Party p) {
    return p.kind() != Kind.WORLD;
  }

  private final java.util.Map<String, List<PolicyRule>> selectingSeen = new java.util.HashMap<>();

  /** The rules whose subject selector matches (memoized per label set; the check is the same). */
  private List<PolicyRule> selecting(Party subject) {
    return selectingSeen.computeIfAbsent(
        subject.labels().canonical(),
        k -> rules.stream().filter(r -> r.subject().matches(subject.labels())).toList());
  }

  private final java.util.Map<String, List<Selector>> requirementsSeen = new java.util.HashMap<>();

  private List<Selector> requirements(Party subject, Direction d) {
    return requirementsSeen.computeIfAbsent(
        subject.labels().canonical() + d, k -> requirementsOf(subject, d));
  }

  private List<Selector> requirementsOf(Party subject, Direction d) {
    return rules.stream()
        .filter(r -> r.subject().matches(subject.labels()))
        .flatMap(r -> r.requires(d).stream())
        .toList();
  }

  private boolean entity(Entity e, Party peer) {
    return switch (e) {
      case ALL -> true;
      case NONE, DNS -> false;
      case WORLD -> peer.kind() == Kind.WORLD;
      case CLUSTER -> peer.kind() != Kind.WORLD;
      case HOST -> peer.kind() == Kind.HOST;
      case REMOTE_NODE -> peer.kind() == Kind.REMOTE_NODE;
      case KUBE_APISERVER -> peer.kind() == Kind.KUBE_APISERVER;
      case HEALTH -> peer.kind() == Kind.HEALTH;
      case INIT, INGRESS, UNMANAGED -> false;
    };
  }

  private static boolean portMatches(
      RuleItem item, Party subject, Direction d, Party peer, Protocol proto, int port) {
    if (item.ports().isEmpty()) {
      return true;
    }
    Party destination = d == Direction.INGRESS ? subject : peer;
    for (PortRule pr : item.ports()) {
      boolean protoOk =
          pr.protocol() == Protocol.ANY
              ? proto == Protocol.TCP || proto == Protocol.UDP || proto == Protocol.SCTP
              : pr.protocol() == proto;
      if (!protoOk) {
        continue;
      }
      if (pr.named()) {
        for (NamedPort np : destination.namedPorts()) {
          if (np.name().equals(pr.name()) && np.protocol() == proto && np.port() == port) {
            return true;
          }
        }
        continue;
      }
      if (pr.port() == 0 || (port >= pr.port() && port <= pr.lastPort())) {
        return true;
      }
    }
    return false;
  }
}
