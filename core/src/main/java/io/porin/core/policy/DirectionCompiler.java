package io.porin.core.policy;

import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelSet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntPredicate;

/**
 * Compiles one identity's policy, a direction at a time, from the rules that select it: default
 * verdicts, peers (selectors, entities, CIDRs, ipBlock classes) and ports (numbers, ranges, named
 * ports) into map entries (cilium {@code resolve.go}, {@code l4.go}). With a set of peers it
 * compiles only their entries, which {@link #patch} merges into an identity's previous policy.
 */
final class DirectionCompiler {
  private static final Set<Integer> CLUSTER_RESERVED =
      Set.of(
          ReservedIdentity.HOST.id().value(),
          ReservedIdentity.UNMANAGED.id().value(),
          ReservedIdentity.HEALTH.id().value(),
          ReservedIdentity.INIT.id().value(),
          ReservedIdentity.REMOTE_NODE.id().value(),
          ReservedIdentity.KUBE_APISERVER.id().value(),
          ReservedIdentity.INGRESS.id().value());

  private final SelectorCache selectors;
  private final RuleIndex rules;
  private final NamedPorts namedPorts;
  private final CidrIdentities cidr;
  private final IntPredicate inThisCluster;
  private PolicySettings settings;
  private Set<String> auditNamespaces = Set.of();

  DirectionCompiler(
      SelectorCache selectors,
      RuleIndex rules,
      NamedPorts namedPorts,
      CidrIdentities cidr,
      IntPredicate inThisCluster,
      PolicySettings settings) {
    this.selectors = selectors;
    this.rules = rules;
    this.namedPorts = namedPorts;
    this.cidr = cidr;
    this.inThisCluster = inThisCluster;
    this.settings = settings;
  }

  void settings(PolicySettings s) {
    settings = s;
  }

  void auditNamespaces(Set<String> namespaces) {
    auditNamespaces = namespaces;
  }

  /** One identity's policy from scratch. */
  IdentityPolicy compile(int identity) {
    return new IdentityPolicy(
        identity,
        direction(identity, Direction.INGRESS, null),
        direction(identity, Direction.EGRESS, null),
        rules.selecting(identity).stream().anyMatch(PolicyRule::encrypt));
  }

  /** {@code old} with the entries of {@code peers} compiled again. */
  IdentityPolicy patch(IdentityPolicy old, Set<Integer> peers) {
    return new IdentityPolicy(
        old.identity(),
        patchDirection(old.ingress(), old.identity(), peers),
        patchDirection(old.egress(), old.identity(), peers),
        old.encrypt());
  }

  private DirectionPolicy patchDirection(DirectionPolicy old, int identity, Set<Integer> peers) {
    DirectionPolicy fresh = direction(identity, old.direction(), peers);
    boolean touched = !fresh.byPeer().isEmpty();
    for (int p : peers) {
      touched |= old.byPeer().containsKey(p);
    }
    if (!touched) {
      return old;
    }
    // One pass over the old map: keep what the peers did not change, add what they produce.
    List<Map.Entry<Integer, List<PolicyEntry>>> entries =
        new ArrayList<>(old.byPeer().size() + fresh.byPeer().size());
    for (Map.Entry<Integer, List<PolicyEntry>> e : old.byPeer().entrySet()) {
      if (!peers.contains(e.getKey())) {
        entries.add(e);
      }
    }
    entries.addAll(fresh.byPeer().entrySet());
    @SuppressWarnings("unchecked")
    Map<Integer, List<PolicyEntry>> byPeer = Map.ofEntries(entries.toArray(new Map.Entry[0]));
    return new DirectionPolicy(
        old.direction(),
        old.enforced(),
        old.defaultVerdict(),
        old.defaultDenyBy(),
        byPeer,
        old.cidrClasses());
  }

  /** One direction of an identity's policy; with {@code onlyPeers}, only those peers' entries. */
  private DirectionPolicy direction(int subject, Direction d, Set<Integer> onlyPeers) {
    LabelSet labels = selectors.labels(subject);
    if (settings.mode() == EnforcementMode.NEVER) {
      return new DirectionPolicy(d, false, Verdict.ALLOW, List.of(), Map.of(), List.of());
    }
    List<PolicyRule> mine = rules.selecting(subject);
    boolean endpointAudit =
        settings.auditAll() || auditNamespaces.contains(PolicyCompiler.namespaceOf(labels));
    Set<PolicyRef> enforcing = new TreeSet<>();
    Set<PolicyRef> auditing = new TreeSet<>();
    List<Selector> requires = new ArrayList<>();
    for (PolicyRule r : mine) {
      if (r.enablesDefaultDeny(d)) {
        (r.audited() ? auditing : enforcing).add(r.policy());
      }
      requires.addAll(r.requires(d));
    }
    boolean enforced =
        settings.mode() == EnforcementMode.ALWAYS || !enforcing.isEmpty() || !auditing.isEmpty();
    Verdict defaultVerdict;
    List<PolicyRef> defaultBy;
    if (!enforced) {
      defaultVerdict = Verdict.ALLOW;
      defaultBy = List.of();
    } else if (settings.mode() == EnforcementMode.ALWAYS && enforcing.isEmpty()) {
      defaultVerdict = endpointAudit ? Verdict.AUDIT : Verdict.DENY;
      defaultBy = List.of();
    } else if (!enforcing.isEmpty()) {
      defaultVerdict = endpointAudit ? Verdict.AUDIT : Verdict.DENY;
      defaultBy = List.copyOf(enforcing);
    } else {
      defaultVerdict = Verdict.AUDIT;
      defaultBy = List.copyOf(auditing);
    }

    PolicyMapBuilder acc = new PolicyMapBuilder();
    List<ClassItem> classItems = new ArrayList<>();
    for (PolicyRule r : mine) {
      for (RuleItem item : r.items()) {
        if (item.direction() != d) {
          continue;
        }
        Verdict v =
            !item.deny()
                ? Verdict.ALLOW
                : r.audited() || endpointAudit ? Verdict.AUDIT : Verdict.DENY;
        if (item.anyPeer()) {
          if (!item.deny() && !requires.isEmpty()) {
            addPeers(acc, item, subject, v, matchingAll(Selector.ALL, requires), onlyPeers);
          } else {
            addWildcard(acc, item, subject, v, onlyPeers);
          }
          continue;
        }
        for (Peer p : item.peers()) {
          switch (p) {
            case Peer.Endpoints e -> {
              Collection<Integer> set =
                  !item.deny() && !requires.isEmpty()
                      ? matchingAll(e.selector(), requires)
                      : rules.peers(e.selector());
              addPeers(acc, item, subject, v, clusterScoped(e.selector(), set), onlyPeers);
            }
            case Peer.Entities en -> {
              if (en.entity() == Entity.ALL) {
                addWildcard(acc, item, subject, v, onlyPeers);
              } else {
                addPeers(acc, item, subject, v, entityIdentities(en.entity()), onlyPeers);
              }
            }
            case Peer.Addresses a when a.ipBlock() -> {
              if (onlyPeers == null) {
                classItems.add(new ClassItem(item, a, v));
              }
            }
            case Peer.Addresses a -> addPeers(acc, item, subject, v, cidr.peers(a), onlyPeers);
          }
        }
      }
    }
    List<CidrClass> classes = List.of();
    if (!classItems.isEmpty()) {
      classes = addClasses(acc, classItems, subject);
    }
    return new DirectionPolicy(d, enforced, defaultVerdict, defaultBy, acc.entries(), classes);
  }

  private record ClassItem(RuleItem item, Peer.Addresses addresses, Verdict verdict) {}

  /** Flattens ipBlocks into classes: every base and except prefix, with the rules that hold. */
  private List<CidrClass> addClasses(PolicyMapBuilder acc, List<ClassItem> items, int subject) {
    TreeSet<Cidr> prefixes = new TreeSet<>();
    for (ClassItem c : items) {
      prefixes.add(c.addresses.base());
      prefixes.addAll(c.addresses.except());
    }
    List<CidrClass> classes = new ArrayList<>();
    int n = 0;
    for (Cidr p : prefixes) {
      int classId = CidrClass.CLASS_SCOPE | ++n;
      classes.add(new CidrClass(p, classId));
      for (ClassItem c : items) {
        if (CidrIdentities.selects(c.addresses, p)) {
          addPorts(acc, c.item, subject, classId, c.verdict);
        }
      }
    }
    return classes;
  }

  private void addWildcard(
      PolicyMapBuilder acc, RuleItem item, int subject, Verdict v, Set<Integer> onlyPeers) {
    if (onlyPeers == null) {
      addPorts(acc, item, subject, PolicyEntry.ANY_PEER, v);
    }
    // Egress to a named port of any peer: the name resolves on each destination that has it.
    if (item.direction() == Direction.EGRESS && item.hasNamedPorts()) {
      for (int owner : namedPorts.all().keySet()) {
        if (onlyPeers == null || onlyPeers.contains(owner)) {
          addNamedPorts(acc, item, owner, owner, v);
        }
      }
    }
  }

  private void addPeers(
      PolicyMapBuilder acc,
      RuleItem item,
      int subject,
      Verdict v,
      Collection<Integer> peers,
      Set<Integer> onlyPeers) {
    if (onlyPeers == null) {
      for (int peer : peers) {
        addPorts(acc, item, subject, peer, v);
      }
    } else {
      for (int peer : onlyPeers) {
        if (peers.contains(peer)) {
          addPorts(acc, item, subject, peer, v);
        }
      }
    }
  }

  private void addPorts(PolicyMapBuilder acc, RuleItem item, int subject, int peer, Verdict v) {
    if (item.ports().isEmpty()) {
      acc.put(peer, Protocol.ANY, 0, 0, v, item.ref());
      return;
    }
    boolean wildcard = peer == PolicyEntry.ANY_PEER;
    for (PortRule pr : item.ports()) {
      if (pr.named()) {
        int owner = item.direction() == Direction.INGRESS ? subject : peer;
        if (item.direction() == Direction.INGRESS || !wildcard) {
          addNamedPort(acc, pr, item, owner, peer, v);
        }
        continue;
      }
      List<Protocol> protocols =
          pr.protocol() == Protocol.ANY ? Protocol.WITH_PORTS : List.of(pr.protocol());
      for (Protocol p : protocols) {
        if (pr.port() == 0) {
          acc.put(peer, p, 0, 8, v, item.ref());
        } else {
          for (PortPrefixes.PortPrefix pp : PortPrefixes.of(pr.port(), pr.lastPort())) {
            acc.put(peer, p, pp.port(), 8 + pp.bits(), v, item.ref());
          }
        }
      }
    }
  }

  private void addNamedPorts(PolicyMapBuilder acc, RuleItem item, int owner, int peer, Verdict v) {
    for (PortRule pr : item.ports()) {
      if (pr.named()) {
        addNamedPort(acc, pr, item, owner, peer, v);
      }
    }
  }

  private void addNamedPort(
      PolicyMapBuilder acc, PortRule pr, RuleItem item, int owner, int peer, Verdict v) {
    Map<String, List<NamedPort>> byName = namedPorts.of(owner);
    if (byName == null) {
      return;
    }
    for (NamedPort np : byName.getOrDefault(pr.name(), List.of())) {
      if (pr.protocol() == Protocol.ANY || pr.protocol() == np.protocol()) {
        acc.put(peer, np.protocol(), np.port(), 24, v, item.ref());
      }
    }
  }

  /**
   * A peer selector's identities, kept to this cluster's (and the reserved ones) when selectors
   * match the local cluster only and this one names no cluster.
   */
  private Collection<Integer> clusterScoped(Selector s, Collection<Integer> selected) {
    if (!settings.selectorsMatchLocalClusterOnly() || namesCluster(s)) {
      return selected;
    }
    Set<Integer> local = new HashSet<>();
    for (int id : selected) {
      int cluster = new io.porin.core.identity.NumericIdentity(id).clusterId();
      if (cluster == 0 || inThisCluster.test(id)) {
        local.add(id);
      }
    }
    return local;
  }

  static boolean namesCluster(Selector s) {
    for (Requirement r : s.requirements()) {
      if (r.bareKey().equals(io.porin.core.labels.Label.POLICY_CLUSTER)) {
        return true;
      }
    }
    return false;
  }

  private Collection<Integer> matchingAll(Selector base, List<Selector> requires) {
    Set<Integer> out = new HashSet<>(selectors.getOrCompute(base));
    for (Selector r : requires) {
      out.retainAll(selectors.getOrCompute(r));
    }
    return out;
  }

  private Set<Integer> entityIdentities(Entity e) {
    return switch (e) {
      case ALL, NONE, DNS -> Set.of();
      case WORLD -> cidr.world();
      case CLUSTER -> {
        Set<Integer> s = new HashSet<>(CLUSTER_RESERVED);
        for (int id : selectors.identities().keySet()) {
          if (inThisCluster.test(id)) {
            s.add(id);
          }
        }
        yield s;
      }
      case HOST -> Set.of(ReservedIdentity.HOST.id().value());
      case REMOTE_NODE -> Set.of(ReservedIdentity.REMOTE_NODE.id().value());
      case KUBE_APISERVER -> Set.of(ReservedIdentity.KUBE_APISERVER.id().value());
      case HEALTH -> Set.of(ReservedIdentity.HEALTH.id().value());
      case INIT -> Set.of(ReservedIdentity.INIT.id().value());
      case INGRESS -> Set.of(ReservedIdentity.INGRESS.id().value());
      case UNMANAGED -> Set.of(ReservedIdentity.UNMANAGED.id().value());
    };
  }
}
