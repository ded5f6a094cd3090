package io.porin.core.policy;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

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
 * <p>This class is the façade; the parts are, in this package: {@link SelectorCache} (identities
 * and what each selector selects), {@link RuleIndex} (the rules and who they select), {@link
 * CidrIdentities}, {@link NamedPorts}, {@link ChangeTracker} (what the next commit recomputes),
 * {@link DirectionCompiler} (one identity's policy) and {@link PolicyMapBuilder} (its entries).
 *
 * <p>Not thread-safe: one owner feeds it and publishes the results as immutable snapshots.
 */
public final class PolicyCompiler {
  private PolicySettings settings;
  private Set<String> auditNamespaces = Set.of();
  private final SelectorCache selectors = new SelectorCache();
  private final RuleIndex rules = new RuleIndex(selectors);
  private final CidrIdentities cidr = new CidrIdentities();
  private final NamedPorts namedPorts = new NamedPorts();
  private final ChangeTracker changes = new ChangeTracker(selectors, rules, this::inThisCluster);
  private final DirectionCompiler compiler;
  private final Map<Integer, IdentityPolicy> compiled = new HashMap<>();
  private long revision;

  public PolicyCompiler(PolicySettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.compiler =
        new DirectionCompiler(selectors, rules, namedPorts, cidr, this::inThisCluster, settings);
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** Changes the settings; every identity is recompiled at the next commit. */
  public void setSettings(PolicySettings s) {
    if (!s.equals(settings)) {
      settings = s;
      compiler.settings(s);
      changes.full.addAll(selectors.identities().keySet());
    }
  }

  public PolicySettings settings() {
    return settings;
  }

  /** Adds an identity, or changes its labels. Reserved and CIDR identities are built in. */
  public void putIdentity(int id, LabelSet labels) {
    if (SelectorCache.RESERVED.containsKey(id) || (id & NumericIdentity.SCOPE_MASK) != 0) {
      throw new IllegalArgumentException(
          "identity "
              + Integer.toUnsignedString(id)
              + " is reserved or local; only cluster"
              + " identities are fed in");
    }
    LabelSet old = selectors.put(id, labels);
    if (labels.equals(old)) {
      return;
    }
    rules.forgetSubject(id);
    if (old != null) {
      // the subjects that saw it with its old labels (the selector sets still hold it)
      changes.markPeer(id, old);
      selectors.unselect(id);
    }
    selectors.select(id, labels);
    changes.markPeer(id, labels);
    changes.changed(id);
  }

  public void removeIdentity(int id) {
    LabelSet old = selectors.remove(id);
    if (old == null) {
      return;
    }
    rules.forgetSubject(id);
    changes.markPeer(id, old);
    selectors.unselect(id);
    changes.gone(id);
  }

  /** Adds or replaces a policy's rules (an enforceable policy; refused ones are never fed in). */
  public void putPolicy(PolicyRef ref, List<PolicyRule> policyRules) {
    rules.put(ref, policyRules, changes.full);
    followCidrs();
  }

  public void removePolicy(PolicyRef ref) {
    if (rules.remove(ref, changes.full)) {
      followCidrs();
    }
  }

  private void followCidrs() {
    if (cidr.follow(rules.all())) {
      changes.cidrChanged = true;
    }
  }

  /** An endpoint (a pod) of an identity, with its named container ports. */
  public void putEndpoint(String key, int identity, List<NamedPort> ports) {
    namedPorts.put(key, identity, ports).forEach(changes::namedPortsChanged);
  }

  public void removeEndpoint(String key) {
    namedPorts.remove(key).forEach(changes::namedPortsChanged);
  }

  /** The namespaces whose endpoints are in audit mode. */
  public void setAuditNamespaces(Set<String> namespaces) {
    Set<String> changed = new HashSet<>(namespaces);
    changed.addAll(auditNamespaces);
    Set<String> both = new HashSet<>(namespaces);
    both.retainAll(auditNamespaces);
    changed.removeAll(both);
    auditNamespaces = Set.copyOf(namespaces);
    compiler.auditNamespaces(auditNamespaces);
    if (changed.isEmpty()) {
      return;
    }
    selectors
        .identities()
        .forEach(
            (id, labels) -> {
              if (changed.contains(namespaceOf(labels))) {
                changes.full.add(id);
              }
            });
  }

  // ---- outputs --------------------------------------------------------------------------------

  /** Recomputes what changed since the last commit; bumps the revision when anything did. */
  public PolicyChanges commit() {
    if (changes.cidrChanged) {
      changes.markCidrUsers();
    }
    Map<Integer, IdentityPolicy> updated = new HashMap<>();
    Map<Integer, Set<Integer>> patched = new HashMap<>();
    for (int id : changes.full) {
      if (selectors.has(id)) {
        IdentityPolicy p = compiler.compile(id);
        if (!p.equals(compiled.get(id))) {
          compiled.put(id, p);
          updated.put(id, p);
        }
      }
    }
    for (Map.Entry<Integer, Set<Integer>> e : changes.peers.entrySet()) {
      int id = e.getKey();
      if (changes.full.contains(id) || !selectors.has(id)) {
        continue;
      }
      IdentityPolicy old = compiled.get(id);
      IdentityPolicy p = old == null ? compiler.compile(id) : compiler.patch(old, e.getValue());
      if (!p.equals(old)) {
        compiled.put(id, p);
        updated.put(id, p);
        if (old != null) {
          patched.put(id, Set.copyOf(e.getValue()));
        }
      }
    }
    Set<Integer> removed = new HashSet<>();
    for (int id : changes.removed) {
      if (compiled.remove(id) != null) {
        removed.add(id);
      }
    }
    boolean cidrChanged = changes.cidrChanged;
    changes.clear();
    if (!updated.isEmpty() || !removed.isEmpty() || cidrChanged) {
      revision++;
    }
    return new PolicyChanges(revision, updated, patched, removed, cidr.byPrefix(), cidrChanged);
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
    return Map.copyOf(cidr.byPrefix());
  }

  /** How many cluster identities a policy's rules select now. */
  public int selectedCount(PolicyRef ref) {
    Set<Integer> s = new HashSet<>();
    for (PolicyRule r : rules.of(ref)) {
      s.addAll(rules.subjects(r));
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
    return CidrIdentities.outside(cidrIdentities, address, family);
  }

  /** Compiles one identity from scratch (uses the current inputs, not the last commit). */
  public IdentityPolicy compileFull(int identity) {
    return compiler.compile(identity);
  }

  private boolean inThisCluster(int id) {
    return new NumericIdentity(id).clusterId() == settings.clusterId();
  }

  static String namespaceOf(LabelSet labels) {
    if (labels == null) {
      return "";
    }
    return labels.get(LabelSource.K8S, Label.POD_NAMESPACE).map(Label::value).orElse("");
  }
}
