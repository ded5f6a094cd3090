package io.porin.agent.service;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.LoadBalancer;
import io.porin.agent.datapath.LoadBalancer.Address;
import io.porin.core.ipam.Cidr;
import io.porin.core.service.Maglev;
import io.porin.core.service.ServiceRecord;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Keeps the node's load-balancing maps equal to the cluster's services: for each service port a
 * frontend per cluster IP (and, for NodePort services, per node address on its node port), leading
 * to the backends of the same family that serve that port; ready backends first, terminating ones
 * only when no ready one is left. Backend and frontend numbers are the node's own, kept across
 * restarts by reading the pinned maps back.
 *
 * <p>Incremental: a change of one service recomputes that service's frontends only, and only
 * differences reach the kernel, written in bulk in an order that never lets a packet see a frontend
 * whose backends are not there yet (see {@link LoadBalancer#begin}).
 */
public final class ServiceSync {
  private static final Logger LOG = Logger.getLogger(ServiceSync.class);

  /** Frontend numbers are 16-bit in conntrack: 1..65535. */
  static final int REV_NAT_MAX = 65535;

  /** Slots per frontend are 16-bit: a frontend leads to at most this many backends. */
  static final int BACKENDS_PER_FRONTEND_MAX = 65535;

  /** A Maglev table whose content this agent did not compute (found after a restart). */
  private static final List<Integer> UNKNOWN_TABLE = List.of(-1);

  /** What a frontend should lead to, by backend address. */
  record Desired(
      int flags,
      int affinityTimeout,
      boolean maglev,
      List<Address> active,
      List<Address> terminating,
      String service) {}

  private final LoadBalancer lb;
  private final List<Address> nodeAddresses; // port and protocol unused

  // what the store says: each record's frontends, and which record a frontend belongs to
  private final Map<String, Map<Address, Desired>> byRecord = new HashMap<>();
  private final Map<Address, String> owner = new HashMap<>();
  private final Map<Address, Integer> backendRefs = new HashMap<>();

  /** Backends whose last reference may have gone in this change (checked when it is written). */
  private final Set<Address> released = new HashSet<>();

  // what the kernel holds (restored at start)
  private final Map<Address, LoadBalancer.Service> frontends = new HashMap<>();
  private final Map<Address, Integer> backendIds = new HashMap<>();
  private final Map<Integer, Address> backendAddresses = new HashMap<>();
  private final Map<Address, Integer> revNats = new HashMap<>();
  private final Map<Integer, List<Integer>> maglevs = new HashMap<>();
  private final Map<Integer, String> serviceByRevNat = new ConcurrentHashMap<>();
  private final BitSet backendsUsed = new BitSet();
  private final BitSet revNatsUsed = new BitSet();
  private final Set<String> complaints = new HashSet<>();

  /**
   * @param nodeAddresses this node's underlay addresses (NodePort frontends)
   */
  public ServiceSync(LoadBalancer lb, Collection<String> nodeAddresses) {
    this.lb = lb;
    List<Address> addrs = new ArrayList<>();
    for (String a : nodeAddresses) {
      Cidr c = Cidr.parse(a.contains("/") ? a : a + (a.contains(":") ? "/128" : "/32"));
      addrs.add(new Address(c.family(), c.network(), 0, io.porin.core.policy.Protocol.ANY));
    }
    this.nodeAddresses = List.copyOf(addrs);
    restore();
  }

  private void restore() {
    LoadBalancer.State s = lb.read();
    frontends.putAll(s.frontends());
    s.backends().forEach(this::knowBackend);
    s.revNat().keySet().forEach(revNatsUsed::set);
    for (Map.Entry<Address, LoadBalancer.Service> e : s.frontends().entrySet()) {
      revNats.put(e.getKey(), e.getValue().revNat());
      revNatsUsed.set(e.getValue().revNat());
    }
    s.maglevTables().forEach(id -> maglevs.put(id, UNKNOWN_TABLE));
    if (!frontends.isEmpty()) {
      LOG.infof(
          "restored %d service frontends and %d backends from the pinned maps",
          frontends.size(), backendIds.size());
    }
  }

  private void knowBackend(int id, Address a) {
    backendIds.put(a, id);
    backendAddresses.put(id, a);
    backendsUsed.set(id);
  }

  /** Everything the store holds, replacing what was known (also what a restart left behind). */
  public synchronized void reset(Collection<ServiceRecord> all) {
    Set<Address> touched = new HashSet<>(frontends.keySet());
    touched.addAll(owner.keySet());
    byRecord.clear();
    owner.clear();
    backendRefs.clear();
    for (ServiceRecord r : all) {
      add(r, touched);
    }
    apply(touched, true);
  }

  /** Changes: records put (by key) and keys removed. */
  public synchronized void update(Collection<ServiceRecord> put, Collection<String> removed) {
    Set<Address> touched = new HashSet<>();
    for (String key : removed) {
      drop(key, touched);
    }
    for (ServiceRecord r : put) {
      drop(r.key(), touched);
      add(r, touched);
    }
    apply(touched, false);
  }

  private void drop(String key, Set<Address> touched) {
    Map<Address, Desired> old = byRecord.remove(key);
    if (old == null) {
      return;
    }
    for (Map.Entry<Address, Desired> e : old.entrySet()) {
      touched.add(e.getKey());
      if (key.equals(owner.get(e.getKey()))) {
        owner.remove(e.getKey());
      }
      refs(e.getValue(), -1);
    }
  }

  private void add(ServiceRecord r, Set<Address> touched) {
    if (r.headless()) {
      return;
    }
    Map<Address, Desired> d = new LinkedHashMap<>();
    try {
      desired(r, d);
    } catch (RuntimeException e) {
      complain("service " + r.key() + " is not programmed: " + e.getMessage());
      return;
    }
    for (Map.Entry<Address, Desired> e : d.entrySet()) {
      String other = owner.putIfAbsent(e.getKey(), r.key());
      if (other != null && !other.equals(r.key())) {
        complain(
            "service " + r.key() + " frontend " + e.getKey() + " is also " + other + "'s: skipped");
        continue;
      }
      touched.add(e.getKey());
      refs(e.getValue(), 1);
    }
    d.keySet().removeIf(f -> !r.key().equals(owner.get(f)));
    byRecord.put(r.key(), d);
  }

  private void refs(Desired d, int delta) {
    for (List<Address> l : List.of(d.active(), d.terminating())) {
      for (Address a : l) {
        if (backendRefs.merge(a, delta, Integer::sum) <= 0) {
          released.add(a);
        }
      }
    }
  }

  /** The service ("namespace/name") a frontend number belongs to, for flows (any thread). */
  public String serviceOf(int revNat) {
    return serviceByRevNat.get(revNat);
  }

  /** The frontends and what they lead to now (for status and {@code porin service list}). */
  public synchronized Map<Address, LoadBalancer.Service> frontends() {
    return Map.copyOf(frontends);
  }

  /** What the kernel holds, read back (for {@code porin bpf lb list}). */
  public LoadBalancer.State kernel() {
    return lb.read();
  }

  /** The backend address of a backend number. */
  public synchronized Address backend(int id) {
    return backendAddresses.get(id);
  }

  private void desired(ServiceRecord r, Map<Address, Desired> out) {
    int common =
        (r.affinityTimeout() > 0 ? MapLayouts.LB_AFFINITY : 0)
            | (r.algorithm().equals("maglev") ? MapLayouts.LB_MAGLEV : 0);
    for (int i = 0; i < r.ports().size(); i++) {
      ServiceRecord.Port p = r.ports().get(i);
      for (String ip : r.clusterIPs()) {
        Address f = address(ip, p.port(), p);
        out.put(f, desiredFor(r, i, f, common | MapLayouts.LB_CLUSTER_IP));
      }
      if (p.nodePort() != 0) {
        for (Address n : nodeAddresses) {
          Address f = new Address(n.family(), n.address(), p.nodePort(), p.protocol());
          out.put(f, desiredFor(r, i, f, common | MapLayouts.LB_NODE_PORT));
        }
      }
    }
  }

  /** Logs a problem once per distinct message (a record that stays bad is not logged per pass). */
  private void complain(String message) {
    if (complaints.add(message)) {
      LOG.warn(message);
    }
  }

  private static Desired desiredFor(ServiceRecord r, int port, Address f, int flags) {
    List<Address> active = new ArrayList<>();
    List<Address> terminating = new ArrayList<>();
    for (ServiceRecord.Backend b : r.backends()) {
      int target = port < b.ports().size() ? b.ports().get(port) : 0;
      if (target == 0) {
        continue;
      }
      for (String ip : b.addresses()) {
        Address a = address(ip, target, r.ports().get(port));
        if (a.family() == f.family()) {
          (b.state() == ServiceRecord.State.ACTIVE ? active : terminating).add(a);
        }
      }
    }
    return new Desired(
        flags, r.affinityTimeout(), r.algorithm().equals("maglev"), active, terminating, r.key());
  }

  private static Address address(String ip, int port, ServiceRecord.Port p) {
    byte[] raw = InetAddress.ofLiteral(ip).getAddress();
    return new Address(
        raw.length == 4 ? Cidr.Family.IPV4 : Cidr.Family.IPV6,
        new BigInteger(1, raw),
        port,
        p.protocol());
  }

  /** The frontends a change touched: written in bulk; on failure, the maps are read back. */
  private void apply(Set<Address> touched, boolean full) {
    long started = System.nanoTime();
    lb.begin();
    int writes;
    try {
      writes = write(touched, full);
      lb.commit();
    } catch (RuntimeException e) {
      // the kernel no longer holds what this mirror says: read it back; the next change (or a
      // resync) writes the differences again
      LOG.errorf(e, "writing the service maps failed; re-reading them");
      frontends.clear();
      backendIds.clear();
      backendAddresses.clear();
      revNats.clear();
      maglevs.clear();
      backendsUsed.clear();
      revNatsUsed.clear();
      serviceByRevNat.clear();
      restore();
      return;
    }
    if (writes > 0) {
      LOG.debugf(
          "services: %d frontends touched, %d writes in %d ms",
          touched.size(), writes, (System.nanoTime() - started) / 1_000_000);
    }
  }

  private Desired want(Address f) {
    String key = owner.get(f);
    Map<Address, Desired> d = key == null ? null : byRecord.get(key);
    return d == null ? null : d.get(f);
  }

  private int write(Set<Address> touched, boolean full) {
    int writes = 0;
    // backends first: every frontend's slots name them
    for (Address f : touched) {
      Desired d = want(f);
      if (d == null) {
        continue;
      }
      for (List<Address> l : List.of(d.active(), d.terminating())) {
        for (Address b : l) {
          if (!backendIds.containsKey(b)) {
            int id = backendsUsed.nextClearBit(1);
            lb.putBackend(id, b);
            knowBackend(id, b);
            writes++;
          }
        }
      }
    }
    for (Address f : touched) {
      Desired d = want(f);
      try {
        writes += d == null ? remove(f) : program(f, d);
      } catch (RuntimeException ex) {
        // one frontend that cannot be written must not keep the others from being written
        complain(
            "service "
                + (d == null ? "" : d.service())
                + " frontend "
                + f
                + " is not programmed: "
                + ex.getMessage());
      }
    }
    if (full) {
      // tables a restart found that no frontend uses any more
      Set<Integer> live = new HashSet<>();
      frontends.forEach(
          (f, s) -> {
            if ((s.flags() & MapLayouts.LB_MAGLEV) != 0) {
              live.add(s.revNat());
            }
          });
      for (Integer table : new ArrayList<>(maglevs.keySet())) {
        if (!live.contains(table)) {
          lb.deleteMaglev(table);
          maglevs.remove(table);
        }
      }
    }
    // backends no frontend leads to any more: those this change released (all, after a reset)
    List<Address> unused = new ArrayList<>();
    for (Address b : full ? backendIds.keySet() : released) {
      if (backendIds.containsKey(b) && backendRefs.getOrDefault(b, 0) <= 0) {
        unused.add(b);
      }
    }
    released.clear();
    for (Address b : unused) {
      int id = backendIds.remove(b);
      backendAddresses.remove(id);
      backendRefs.remove(b);
      lb.deleteBackend(id);
      backendsUsed.clear(id);
      writes++;
    }
    return writes;
  }

  private int remove(Address f) {
    LoadBalancer.Service before = frontends.remove(f);
    Integer revNat = revNats.remove(f);
    if (before == null && revNat == null) {
      return 0;
    }
    lb.deleteFrontend(f, before);
    if (revNat != null) {
      if (maglevs.remove(revNat) != null) {
        lb.deleteMaglev(revNat);
      }
      lb.deleteRevNat(revNat);
      revNatsUsed.clear(revNat);
      serviceByRevNat.remove(revNat);
    }
    return 1;
  }

  /** One frontend: its number, its Maglev table, its slots. Returns the writes done. */
  private int program(Address f, Desired d) {
    int writes = 0;
    Integer revNat = revNats.get(f);
    if (revNat == null) {
      revNat = revNatsUsed.nextClearBit(1);
      if (revNat > REV_NAT_MAX) {
        throw new IllegalStateException("the node has no frontend number left (65535 in use)");
      }
      lb.putRevNat(revNat, f);
      revNatsUsed.set(revNat);
      revNats.put(f, revNat);
      writes++;
    }
    List<Integer> active = ids(d.active());
    List<Integer> terminating = ids(d.terminating());
    int flags = d.flags();
    List<Integer> usable = active.isEmpty() ? terminating : active;
    if (d.maglev() && usable.size() >= Maglev.DEFAULT_TABLE_SIZE) {
      complain(
          "service "
              + d.service()
              + " has "
              + usable.size()
              + " backends, more than a Maglev table holds: random selection for "
              + f);
      flags &= ~MapLayouts.LB_MAGLEV;
    }
    LoadBalancer.Service svc =
        new LoadBalancer.Service(revNat, flags, d.affinityTimeout(), active, terminating);
    serviceByRevNat.put(revNat, d.service());
    if ((flags & MapLayouts.LB_MAGLEV) != 0 && !usable.isEmpty()) {
      if (!usable.equals(maglevs.get(revNat))) {
        List<String> names = new ArrayList<>();
        for (int id : usable) {
          names.add(backendAddresses.get(id).toString());
        }
        int[] slots = Maglev.table(names, Maglev.DEFAULT_TABLE_SIZE);
        int[] table = new int[slots.length];
        for (int i = 0; i < slots.length; i++) {
          table[i] = usable.get(slots[i]);
        }
        lb.putMaglev(revNat, table);
        maglevs.put(revNat, usable);
        writes++;
      }
    } else if (maglevs.remove(revNat) != null) {
      lb.deleteMaglev(revNat);
    }
    LoadBalancer.Service before = frontends.get(f);
    if (!Objects.equals(before, svc)) {
      lb.putFrontend(f, svc, before);
      frontends.put(f, svc);
      writes++;
    }
    return writes;
  }

  private List<Integer> ids(List<Address> backends) {
    List<Integer> out = new ArrayList<>();
    for (Address a : backends) {
      if (out.size() == BACKENDS_PER_FRONTEND_MAX) {
        break;
      }
      out.add(backendIds.get(a));
    }
    return out;
  }
}
