package io.porin.core.policy;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns policies and identities into each identity's policy map, incrementally.
 *
 * <p>Feed it identities, policies, endpoints' named ports and audit settings in any order; {@link
 * #commit()} then recomputes only what those changes affect and returns the identities whose
 * compiled policy differs. A changed policy recompiles the identities it selects (before and
 * after); a new, changed or removed identity is compiled itself and, as a peer, patched into the
 * policies of the identities whose rules can select it. {@link #compileFull(int)} computes any
 * identity from scratch; tests hold the incremental path to it.
 *
 * <p>Not thread-safe: one owner feeds it and publishes the results as immutable snapshots.
 */
public final class PolicyCompiler {
  private static final Map<Integer, LabelSet> RESERVED = reserved();
  private static final Set<Integer> CLUSTER_RESERVED =
      Set.of(
          ReservedIdentity.HOST.id().value(),
          ReservedIdentity.UNMANAGED.id().value(),
          ReservedIdentity.HEALTH.id().value(),
          ReservedIdentity.INIT.id().value(),
          ReservedIdentity.REMOTE_NODE.id().value(),
          ReservedIdentity.KUBE_APISERVER.id().value(),
          ReservedIdentity.INGRESS.id().value());
  private static final int WORLD = ReservedIdentity.WORLD.id().value();
  private static final int WORLD_V4 = ReservedIdentity.WORLD_IPV4.id().value();
  private static final int WORLD_V6 = ReservedIdentity.WORLD_IPV6.id().value();

  private PolicySettings settings;
  private final Map<Integer, LabelSet> identities = new HashMap<>();
  private final Map<PolicyRef, List<PolicyRule>> policies = new HashMap<>();
  private List<PolicyRule> rules = List.of();
  // The cache's live sets, looked up by the rule and selector instances (identity hashing: a
  // Selector's own hashCode walks its requirements, and these lookups are the hot path).
  private final Map<PolicyRule, Set<Integer>> subjectSets = new IdentityHashMap<>();
  private final Map<Selector, Set<Integer>> peerSets = new IdentityHashMap<>();
  // The rules selecting each subject; whether a rule selects an identity depends only on the
  // rule and that identity's labels, so an entry is dropped when either changes.
  private final Map<Integer, List<PolicyRule>> rulesOf = new HashMap<>();
  // Cluster identities by "key=value" (source left out): the candidates of an In requirement.
  private final Map<String, Set<Integer>> byLabel = new HashMap<>();
  private final Map<Selector, Set<Integer>> selectorCache = new HashMap<>();
  private final Map<Selector, Integer> selectorUsers = new HashMap<>();
  private final Map<String, Endpoint> endpoints = new HashMap<>();
  private final Map<Integer, Map<String, List<NamedPort>>> namedPorts = new HashMap<>();
  private Set<String> auditNamespaces = Set.of();
  private final Map<Cidr, Integer> cidrIdentities = new TreeMap<>();
  private final Map<Integer, IdentityPolicy> compiled = new HashMap<>();

  private final Set<Integer> dirtyFull = new HashSet<>();
  private final Map<Integer, Set<Integer>> dirtyPeers = new HashMap<>();
  private final Set<Integer> removedPending = new HashSet<>();
  private boolean cidrChanged;
  private long revision;

  private record Endpoint(int identity, List<NamedPort> ports) {}

  public PolicyCompiler(PolicySettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** Changes the settings; every identity is recompiled at the next commit. */
  public void setSettings(PolicySettings s) {
    if (!s.equals(settings)) {
      settings = s;
      dirtyFull.addAll(identities.keySet());
    }
  }

  public PolicySettings settings() {
    return settings;
  }

  /** Adds an identity, or changes its labels. Reserved and CIDR identities are built in. */
  public void putIdentity(int id, LabelSet labels) {
    if (RESERVED.containsKey(id) || (id & NumericIdentity.SCOPE_MASK) != 0) {
      throw new IllegalArgumentException(
          "identity "
              + Integer.toUnsignedString(id)
              + " is reserved or local; only cluster"
              + " identities are fed in");
    }
    LabelSet old = identities.put(id, labels);
    if (labels.equals(old)) {
      return;
    }
    rulesOf.remove(id);
    if (old != null) {
      unindex(id, old);
    }
    index(id, labels);
    if (old != null) {
      markPeer(id, old);
      for (Set<Integer> s : selectorCache.values()) {
        s.remove(id);
      }
    }
    for (Map.Entry<Selector, Set<Integer>> e : selectorCache.entrySet()) {
      if (e.getKey().matches(labels)) {
        e.getValue().add(id);
      }
    }
    markPeer(id, labels);
    dirtyFull.add(id);
    removedPending.remove(id);
  }

  public void removeIdentity(int id) {
    LabelSet old = identities.remove(id);
    if (old == null) {
      return;
    }
    rulesOf.remove(id);
    unindex(id, old);
    markPeer(id, old);
    for (Set<Integer> s : selectorCache.values()) {
      s.remove(id);
    }
    dirtyFull.remove(id);
    dirtyPeers.remove(id);
    removedPending.add(id);
  }

  /** Adds or replaces a policy's rules (an enforceable policy; refused ones are never fed in). */
  public void putPolicy(PolicyRef ref, List<PolicyRule> policyRules) {
    forgetPolicy(ref);
    List<PolicyRule> copy = List.copyOf(policyRules);
    policies.put(ref, copy);
    for (PolicyRule r : copy) {
      for (Selector s : selectorsOf(r)) {
        useSelector(s);
      }
      dirtyFull.addAll(subjects(r));
    }
    rebuildRules();
  }

  public void removePolicy(PolicyRef ref) {
    if (forgetPolicy(ref)) {
      rebuildRules();
    }
  }

  /** Removes a policy's rules without rebuilding the rule list; true when it existed. */
  private boolean forgetPolicy(PolicyRef ref) {
    List<PolicyRule> old = policies.remove(ref);
    if (old == null) {
      return false;
    }
    for (PolicyRule r : old) {
      dirtyFull.addAll(subjects(r));
      for (Selector s : selectorsOf(r)) {
        releaseSelector(s);
      }
    }
    return true;
  }

  /** An endpoint (a pod) of an identity, with its named container ports. */
  public void putEndpoint(String key, int identity, List<NamedPort> ports) {
    Endpoint old = endpoints.put(key, new Endpoint(identity, List.copyOf(ports)));
    if (old != null && old.identity != identity) {
      namedPortsChanged(old.identity);
    }
    if (old == null || !old.equals(endpoints.get(key))) {
      namedPortsChanged(identity);
    }
  }

  public void removeEndpoint(String key) {
    Endpoint old = endpoints.remove(key);
    if (old != null) {
      namedPortsChanged(old.identity);
    }
  }

  /** The namespaces whose endpoints are in audit mode. */
  public void setAuditNamespaces(Set<String> namespaces) {
    Set<String> changed = new HashSet<>(namespaces);
    changed.addAll(auditNamespaces);
    Set<String> both = new HashSet<>(namespaces);
    both.retainAll(auditNamespaces);
    changed.removeAll(both);
    auditNamespaces = Set.copyOf(namespaces);
    if (changed.isEmpty()) {
      return;
    }
    identities.forEach(
        (id, labels) -> {
          if (changed.contains(namespaceOf(labels))) {
            dirtyFull.add(id);
          }
        });
  }

  // ---- outputs --------------------------------------------------------------------------------

  /** Recomputes what changed since the last commit; bumps the revision when anything did. */
  public PolicyChanges commit() {
    if (cidrChanged) {
      for (PolicyRule r : rules) {
        if (usesCidrIdentities(r)) {
          dirtyFull.addAll(subjects(r));
        }
      }
    }
    Map<Integer, IdentityPolicy> updated = new HashMap<>();
    Map<Integer, Set<Integer>> patched = new HashMap<>();
    for (int id : dirtyFull) {
      if (identities.containsKey(id)) {
        IdentityPolicy p = compileFull(id);
        if (!p.equals(compiled.get(id))) {
          compiled.put(id, p);
          updated.put(id, p);
        }
      }
    }
    for (Map.Entry<Integer, Set<Integer>> e : dirtyPeers.entrySet()) {
      int id = e.getKey();
      if (dirtyFull.contains(id) || !identities.containsKey(id)) {
        continue;
      }
      IdentityPolicy old = compiled.get(id);
      IdentityPolicy p = old == null ? compileFull(id) : patch(old, e.getValue());
      if (!p.equals(old)) {
        compiled.put(id, p);
        updated.put(id, p);
        if (old != null) {
          patched.put(id, Set.copyOf(e.getValue()));
        }
      }
    }
    Set<Integer> removed = new HashSet<>();
    for (int id : removedPending) {
      if (compiled.remove(id) != null) {
        removed.add(id);
      }
    }
    boolean cidr = cidrChanged;
    dirtyFull.clear();
    dirtyPeers.clear();
    removedPending.clear();
    cidrChanged = false;
    if (!updated.isEmpty() || !removed.isEmpty() || cidr) {
      revision++;
    }
    return new PolicyChanges(revision, updated, patched, removed, cidrIdentities, cidr);
  }

  /**
   * Makes the next revision at least {@code revision + 1}: a restarted compiler continues after
   * what an earlier one may have handed out, so revisions never go backwards.
   */
  public void continueAfter(long revision) {
    this.revision = Math.max(this.revision, revision);
  }

  /** The revision of the last commit that changed anything. */
  public long revision() {
    return revision;
  }

  /** The compiled policy of an identity as of the last commit. */
  public IdentityPolicy get(int identity) {
    return compiled.get(identity);
  }

  /** The CIDR identities of Cilium CIDR rules: prefix to local identity, for the ipcache. */
  public Map<Cidr, Integer> cidrIdentities() {
    return Map.copyOf(cidrIdentities);
  }

  /** How many cluster identities a policy's rules select now. */
  public int selectedCount(PolicyRef ref) {
    Set<Integer> s = new HashSet<>();
    for (PolicyRule r : policies.getOrDefault(ref, List.of())) {
      s.addAll(subjects(r));
    }
    return s.size();
  }

  /**
   * An outside address's identity as a node's ipcache gives it: the longest CIDR identity that
   * holds it, else the world of its family (world-ipv4, world-ipv6: the datapath never gives an
   * address the family-less world, so that a rule for one family's world never opens the other's).
   */
  public static int outsideIdentity(
      Map<Cidr, Integer> cidrIdentities, java.math.BigInteger address, Cidr.Family family) {
    int id = family == Cidr.Family.IPV4 ? WORLD_V4 : WORLD_V6;
    int best = -1;
    for (Map.Entry<Cidr, Integer> c : cidrIdentities.entrySet()) {
      if (c.getKey().family() == family
          && c.getKey().contains(address)
          && c.getKey().prefixLength() > best) {
        best = c.getKey().prefixLength();
        id = c.getValue();
      }
    }
    return id;
  }

  /** Compiles one identity from scratch (uses the current inputs, not the last commit). */
  public IdentityPolicy compileFull(int identity) {
    return new IdentityPolicy(
        identity,
        compileDirection(identity, Direction.INGRESS, null),
        compileDirection(identity, Direction.EGRESS, null),
        rulesOf(identity).stream().anyMatch(PolicyRule::encrypt));
  }

  // ---- compiling ------------------------------------------------------------------------------

  private IdentityPolicy patch(IdentityPolicy old, Set<Integer> peers) {
    return new IdentityPolicy(
        old.identity(),
        patchDirection(old.ingress(), old.identity(), peers),
        patchDirection(old.egress(), old.identity(), peers),
        old.encrypt());
  }

  private DirectionPolicy patchDirection(DirectionPolicy old, int identity, Set<Integer> peers) {
    DirectionPolicy fresh = compileDirection(identity, old.direction(), peers);
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

  private List<PolicyRule> rulesOf(int subject) {
    List<PolicyRule> mine = rulesOf.get(subject);
    if (mine == null) {
      List<PolicyRule> found = new ArrayList<>();
      for (PolicyRule r : rules) {
        if (subjectSets.get(r).contains(subject)) {
          found.add(r);
        }
      }
      mine = List.copyOf(found);
      rulesOf.put(subject, mine);
    }
    return mine;
  }

  /** One direction of an identity's policy; with {@code onlyPeers}, only those peers' entries. */
  private DirectionPolicy compileDirection(int subject, Direction d, Set<Integer> onlyPeers) {
    LabelSet labels = identities.get(subject);
    if (settings.mode() == EnforcementMode.NEVER) {
      return new DirectionPolicy(d, false, Verdict.ALLOW, List.of(), Map.of(), List.of());
    }
    List<PolicyRule> mine = rulesOf(subject);
    boolean endpointAudit = settings.auditAll() || auditNamespaces.contains(namespaceOf(labels));
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

    Accumulator acc = new Accumulator();
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
                      : peerSets.get(e.selector());
              addPeers(acc, item, subject, v, set, onlyPeers);
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
            case Peer.Addresses a -> addPeers(acc, item, subject, v, cidrPeers(a), onlyPeers);
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
  private List<CidrClass> addClasses(Accumulator acc, List<ClassItem> items, int subject) {
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
        if (selects(c.addresses, p)) {
          addPorts(acc, c.item, subject, classId, c.verdict);
        }
      }
    }
    return classes;
  }

  /** True when every address of {@code p} is in the base and in no except. */
  static boolean selects(Peer.Addresses a, Cidr p) {
    if (a.base().family() != p.family() || !a.base().contains(p)) {
      return false;
    }
    for (Cidr e : a.except()) {
      if (e.contains(p)) {
        return false;
      }
    }
    return true;
  }

  private void addWildcard(
      Accumulator acc, RuleItem item, int subject, Verdict v, Set<Integer> onlyPeers) {
    if (onlyPeers == null) {
      addPorts(acc, item, subject, PolicyEntry.ANY_PEER, v);
    }
    // Egress to a named port of any peer: the name resolves on each destination that has it.
    if (item.direction() == Direction.EGRESS && item.hasNamedPorts()) {
      for (Map.Entry<Integer, Map<String, List<NamedPort>>> e : namedPorts.entrySet()) {
        if (onlyPeers == null || onlyPeers.contains(e.getKey())) {
          addNamedPorts(acc, item, e.getKey(), e.getKey(), v);
        }
      }
    }
  }

  private void addPeers(
      Accumulator acc,
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

  private void addPorts(Accumulator acc, RuleItem item, int subject, int peer, Verdict v) {
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

  private void addNamedPorts(Accumulator acc, RuleItem item, int owner, int peer, Verdict v) {
    for (PortRule pr : item.ports()) {
      if (pr.named()) {
        addNamedPort(acc, pr, item, owner, peer, v);
      }
    }
  }

  private void addNamedPort(
      Accumulator acc, PortRule pr, RuleItem item, int owner, int peer, Verdict v) {
    Map<String, List<NamedPort>> byName = namedPorts.get(owner);
    if (byName == null) {
      return;
    }
    for (NamedPort np : byName.getOrDefault(pr.name(), List.of())) {
      if (pr.protocol() == Protocol.ANY || pr.protocol() == np.protocol()) {
        acc.put(peer, np.protocol(), np.port(), 24, v, item.ref());
      }
    }
  }

  /** Collects entries by key; the strongest verdict wins a key and keeps its rules. */
  private static final class Accumulator {
    private final Map<Long, PolicyEntry> entries = new HashMap<>();
    private final Map<Long, Set<RuleRef>> refs = new HashMap<>();

    void put(int peer, Protocol p, int port, int len, Verdict v, RuleRef ref) {
      long key = PolicyEntry.key(peer, p, port, len);
      PolicyEntry e = entries.get(key);
      if (e == null || v.compareTo(e.verdict()) > 0) {
        entries.put(key, new PolicyEntry(peer, p, port, len, v, false, List.of()));
        Set<RuleRef> s = new TreeSet<>();
        s.add(ref);
        refs.put(key, s);
      } else if (v == e.verdict()) {
        refs.get(key).add(ref);
      }
    }

    /**
     * The entries by peer, with deny (and audit) pushed down: an entry inside a broader, stronger
     * entry of the same peer takes that verdict, so that a longest-prefix lookup never lets a
     * narrow allow undo a wide deny.
     */
    Map<Integer, List<PolicyEntry>> entries() {
      Map<Integer, List<PolicyEntry>> byPeer = new HashMap<>();
      for (Map.Entry<Long, PolicyEntry> e : entries.entrySet()) {
        PolicyEntry pe =
            e.getValue().with(e.getValue().verdict(), List.copyOf(refs.get(e.getKey())));
        byPeer.computeIfAbsent(pe.peer(), k -> new ArrayList<>()).add(pe);
      }
      Map<Integer, List<PolicyEntry>> out = new HashMap<>();
      for (Map.Entry<Integer, List<PolicyEntry>> e : byPeer.entrySet()) {
        List<PolicyEntry> list = e.getValue();
        list.sort(
            Comparator.comparingInt(PolicyEntry::prefixLength).thenComparingLong(PolicyEntry::key));
        for (int i = 0; i < list.size(); i++) {
          PolicyEntry narrow = list.get(i);
          for (int j = 0; j < i; j++) {
            PolicyEntry wide = list.get(j);
            if (wide.prefixLength() < narrow.prefixLength()
                && wide.covers(narrow)
                && wide.verdict().compareTo(narrow.verdict()) > 0) {
              narrow = narrow.with(wide.verdict(), wide.rules());
            }
          }
          list.set(i, narrow);
        }
        list.sort(Comparator.comparingLong(PolicyEntry::key));
        out.put(e.getKey(), List.copyOf(list));
      }
      return out;
    }
  }

  // ---- peers ----------------------------------------------------------------------------------

  private Collection<Integer> matchingAll(Selector base, List<Selector> requires) {
    Set<Integer> out = new HashSet<>(selectorOrCompute(base));
    for (Selector r : requires) {
      out.retainAll(selectorOrCompute(r));
    }
    return out;
  }

  private Set<Integer> selectorOrCompute(Selector s) {
    Set<Integer> cached = selectorCache.get(s);
    return cached != null ? cached : computeSelector(s);
  }

  private Set<Integer> entityIdentities(Entity e) {
    return switch (e) {
      case ALL, NONE, DNS -> Set.of();
      case WORLD -> {
        Set<Integer> s = new HashSet<>(Set.of(WORLD, WORLD_V4, WORLD_V6));
        s.addAll(cidrIdentities.values());
        yield s;
      }
      case CLUSTER -> {
        Set<Integer> s = new HashSet<>(CLUSTER_RESERVED);
        for (int id : identities.keySet()) {
          if (inThisCluster(id)) {
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

  private boolean inThisCluster(int id) {
    return new NumericIdentity(id).clusterId() == settings.clusterId();
  }

  /**
   * CIDR identities inside the base and outside every except; for a /0 also the world of its family
   * (only: toCIDR 0.0.0.0/0 is the IPv4 world, not the IPv6 one).
   */
  private Set<Integer> cidrPeers(Peer.Addresses a) {
    Set<Integer> out = new HashSet<>();
    for (Map.Entry<Cidr, Integer> e : cidrIdentities.entrySet()) {
      if (selects(a, e.getKey())) {
        out.add(e.getValue());
      }
    }
    if (a.base().prefixLength() == 0) {
      out.add(a.base().family() == Cidr.Family.IPV4 ? WORLD_V4 : WORLD_V6);
    }
    return out;
  }

  // ---- bookkeeping ----------------------------------------------------------------------------

  private void rebuildRules() {
    List<PolicyRule> all = new ArrayList<>();
    policies.keySet().stream().sorted().forEach(ref -> all.addAll(policies.get(ref)));
    rules = List.copyOf(all);
    rulesOf.clear();
    subjectSets.clear();
    peerSets.clear();
    for (PolicyRule r : rules) {
      subjectSets.put(r, selectorCache.get(r.subject()));
      for (RuleItem item : r.items()) {
        if (item.peers() != null) {
          for (Peer p : item.peers()) {
            if (p instanceof Peer.Endpoints e) {
              peerSets.put(e.selector(), selectorCache.get(e.selector()));
            }
          }
        }
      }
    }
    Set<Cidr> wanted = new TreeSet<>();
    for (PolicyRule r : rules) {
      for (RuleItem item : r.items()) {
        if (item.peers() != null) {
          for (Peer p : item.peers()) {
            if (p instanceof Peer.Addresses a && !a.ipBlock()) {
              wanted.add(a.base());
              wanted.addAll(a.except());
            }
          }
        }
      }
    }
    if (!wanted.equals(cidrIdentities.keySet())) {
      cidrIdentities.keySet().retainAll(wanted);
      Set<Integer> used = new HashSet<>(cidrIdentities.values());
      int next = NumericIdentity.LOCAL_SCOPE + 1;
      for (Cidr c : wanted) {
        if (!cidrIdentities.containsKey(c)) {
          while (used.contains(next)) {
            next++;
          }
          cidrIdentities.put(c, next);
          used.add(next);
        }
      }
      cidrChanged = true;
    }
  }

  private static boolean usesCidrIdentities(PolicyRule r) {
    for (RuleItem item : r.items()) {
      if (item.peers() != null) {
        for (Peer p : item.peers()) {
          if ((p instanceof Peer.Addresses a && !a.ipBlock())
              || (p instanceof Peer.Entities e && e.entity() == Entity.WORLD)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  private static List<Selector> selectorsOf(PolicyRule r) {
    List<Selector> out = new ArrayList<>();
    out.add(r.subject());
    out.addAll(r.ingressRequires());
    out.addAll(r.egressRequires());
    for (RuleItem item : r.items()) {
      if (item.peers() != null) {
        for (Peer p : item.peers()) {
          if (p instanceof Peer.Endpoints e) {
            out.add(e.selector());
          }
        }
      }
    }
    return out;
  }

  private void useSelector(Selector s) {
    if (selectorUsers.merge(s, 1, Integer::sum) == 1) {
      selectorCache.put(s, computeSelector(s));
    }
  }

  private void releaseSelector(Selector s) {
    if (selectorUsers.merge(s, -1, Integer::sum) == 0) {
      selectorUsers.remove(s);
      selectorCache.remove(s);
    }
  }

  private Set<Integer> computeSelector(Selector s) {
    Set<Integer> out = new HashSet<>();
    // Start from the smallest In requirement's candidates when there is one; check them all.
    Set<Integer> candidates = null;
    for (Requirement r : s.requirements()) {
      if (r.operator() == Requirement.Operator.IN) {
        Set<Integer> c = new HashSet<>();
        for (String v : r.values()) {
          c.addAll(byLabel.getOrDefault(r.bareKey() + "=" + v, Set.of()));
        }
        if (candidates == null || c.size() < candidates.size()) {
          candidates = c;
        }
      }
    }
    if (candidates == null) {
      identities.forEach(
          (id, labels) -> {
            if (s.matches(labels)) {
              out.add(id);
            }
          });
    } else {
      for (int id : candidates) {
        if (s.matches(identities.get(id))) {
          out.add(id);
        }
      }
    }
    RESERVED.forEach(
        (id, labels) -> {
          if (s.matches(labels)) {
            out.add(id);
          }
        });
    return out;
  }

  private void index(int id, LabelSet labels) {
    for (Label l : labels) {
      byLabel.computeIfAbsent(l.key() + "=" + l.value(), k -> new HashSet<>()).add(id);
    }
  }

  private void unindex(int id, LabelSet labels) {
    for (Label l : labels) {
      String k = l.key() + "=" + l.value();
      Set<Integer> ids = byLabel.get(k);
      if (ids != null) {
        ids.remove(id);
        if (ids.isEmpty()) {
          byLabel.remove(k);
        }
      }
    }
  }

  /** The cluster identities a rule selects as subjects (reserved ones are not Porin endpoints). */
  private Set<Integer> subjects(PolicyRule r) {
    Set<Integer> s = new HashSet<>(selectorCache.get(r.subject()));
    s.removeIf(id -> !identities.containsKey(id));
    return s;
  }

  /** Marks, for a peer identity that appears, changes or goes, the subjects that may see it. */
  private void markPeer(int peer, LabelSet labels) {
    boolean anyRequires =
        rules.stream()
            .anyMatch(r -> !r.ingressRequires().isEmpty() || !r.egressRequires().isEmpty());
    for (PolicyRule r : rules) {
      if (maySelect(r, peer, labels, anyRequires)) {
        for (int s : subjects(r)) {
          dirtyPeers.computeIfAbsent(s, k -> new HashSet<>()).add(peer);
        }
      }
    }
  }

  private boolean maySelect(PolicyRule r, int peer, LabelSet labels, boolean anyRequires) {
    for (RuleItem item : r.items()) {
      if (item.anyPeer()) {
        if (anyRequires || (item.direction() == Direction.EGRESS && item.hasNamedPorts())) {
          return true;
        }
        continue;
      }
      for (Peer p : item.peers()) {
        boolean hit =
            switch (p) {
              case Peer.Endpoints e -> e.selector().matches(labels);
              case Peer.Entities en ->
                  en.entity() == Entity.CLUSTER && inThisCluster(peer)
                      || en.entity() == Entity.ALL
                          && item.direction() == Direction.EGRESS
                          && item.hasNamedPorts();
              case Peer.Addresses a -> false;
            };
        if (hit) {
          return true;
        }
      }
    }
    return false;
  }

  private void namedPortsChanged(int identity) {
    Map<String, List<NamedPort>> byName = new HashMap<>();
    for (Endpoint e : endpoints.values()) {
      if (e.identity == identity) {
        for (NamedPort np : e.ports) {
          List<NamedPort> l = byName.computeIfAbsent(np.name(), k -> new ArrayList<>());
          if (!l.contains(np)) {
            l.add(np);
          }
        }
      }
    }
    Map<String, List<NamedPort>> old =
        byName.isEmpty() ? namedPorts.remove(identity) : namedPorts.put(identity, byName);
    if (Objects.equals(old, byName.isEmpty() ? null : byName)) {
      return;
    }
    if (identities.containsKey(identity)) {
      dirtyFull.add(identity);
    }
    for (PolicyRule r : rules) {
      boolean egressNamed =
          r.items().stream().anyMatch(i -> i.direction() == Direction.EGRESS && i.hasNamedPorts());
      if (egressNamed) {
        for (int s : subjects(r)) {
          dirtyPeers.computeIfAbsent(s, k -> new HashSet<>()).add(identity);
        }
      }
    }
  }

  static String namespaceOf(LabelSet labels) {
    if (labels == null) {
      return "";
    }
    return labels.get(LabelSource.K8S, Label.POD_NAMESPACE).map(Label::value).orElse("");
  }

  private static Map<Integer, LabelSet> reserved() {
    Map<Integer, LabelSet> m = new HashMap<>();
    for (ReservedIdentity r : ReservedIdentity.values()) {
      m.put(r.id().value(), r.labels());
    }
    return Map.copyOf(m);
  }
}
