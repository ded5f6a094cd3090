package io.porin.agent.service;

import io.porin.agent.datapath.LoadBalancer;
import io.porin.agent.datapath.LoadBalancer.Address;
import io.porin.core.ipam.Cidr;
import io.porin.core.service.Maglev;
import io.porin.core.service.ServiceRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Keeps the node's load-balancing maps equal to the cluster's services: for each service port a
 * frontend per cluster IP (and, for NodePort services, per node address on its node port), leading
 * to the backends of the same family that serve that port; ready backends first, terminating ones
 * only when no ready one is left. Backend and frontend numbers are the node's own, kept across
 * restarts by reading the pinned maps back. Only differences reach the kernel, in an order that
 * never lets a packet see a frontend whose backends are not there yet.
 */
public final class ServiceSync {
  private static final Logger LOG = Logger.getLogger(ServiceSync.class);

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
  private final Map<String, ServiceRecord> records = new LinkedHashMap<>();

  // what the kernel holds (restored at start)
  private final Map<Address, LoadBalancer.Service> frontends = new HashMap<>();
  private final Map<Address, Integer> backendIds = new HashMap<>();
  private final Map<Address, Integer> revNats = new HashMap<>();
  private final Map<Integer, List<Integer>> maglevs = new HashMap<>();
  private final Map<Address, String> frontendServices = new HashMap<>();
  private final Map<Integer, String> serviceByRevNat =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.BitSet backendsUsed = new java.util.BitSet();
  private final java.util.BitSet revNatsUsed = new java.util.BitSet();
  private final Set<String> complaints = new HashSet<>();

  /** Frontend numbers are 16-bit in conntrack: 1..65535. */
  static final int REV_NAT_MAX = 65535;

  /** Slots per frontend are 16-bit: a frontend leads to at most this many backends. */
  static final int BACKENDS_PER_FRONTEND_MAX = 65535;

  /** A Maglev table that cannot be filled (not a stored table's content) after a restart. */
  private static final List<Integer> UNKNOWN_TABLE = List.of(-1);

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
    s.backends()
        .forEach(
            (id, a) -> {
              backendIds.put(a, id);
              backendsUsed.set(id);
            });
    s.revNat().keySet().forEach(revNatsUsed::set);
    for (Map.Entry<Address, LoadBalancer.Service> e : s.frontends().entrySet()) {
      revNats.put(e.getKey(), e.getValue().revNat());
      revNatsUsed.set(e.getValue().revNat());
    }
    // tables whose content this agent did not compute: rewritten or removed by the first pass
    s.maglevTables().forEach(id -> maglevs.put(id, UNKNOWN_TABLE));
    if (!frontends.isEmpty()) {
      LOG.infof(
          "restored %d service frontends and %d backends from the pinned maps",
          frontends.size(), backendIds.size());
    }
  }

  /** Everything the store holds, replacing what was known. */
  public synchronized void reset(Collection<ServiceRecord> all) {
    records.clear();
    all.forEach(r -> records.put(r.key(), r));
    apply();
  }

  /** Changes: records put (by key) and keys removed. */
  public synchronized void update(Collection<ServiceRecord> put, Collection<String> removed) {
    removed.forEach(records::remove);
    put.forEach(r -> records.put(r.key(), r));
    apply();
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
    for (Map.Entry<Address, Integer> e : backendIds.entrySet()) {
      if (e.getValue() == id) {
        return e.getKey();
      }
    }
    return null;
  }

  Map<Address, Desired> desired() {
    Map<Address, Desired> out = new LinkedHashMap<>();
    for (ServiceRecord r : records.values()) {
      if (r.headless()) {
        continue;
      }
      try {
        desired(r, out);
      } catch (RuntimeException e) {
        complain(r.key(), "service " + r.key() + " is not programmed: " + e.getMessage());
      }
    }
    return out;
  }

  private void desired(ServiceRecord r, Map<Address, Desired> out) {
    {
      int common =
          (r.affinityTimeout() > 0 ? io.porin.agent.bpf.MapLayouts.LB_AFFINITY : 0)
              | (r.algorithm().equals("maglev") ? io.porin.agent.bpf.MapLayouts.LB_MAGLEV : 0);
      for (int i = 0; i < r.ports().size(); i++) {
        ServiceRecord.Port p = r.ports().get(i);
        List<Address> frontendAddrs = new ArrayList<>();
        for (String ip : r.clusterIPs()) {
          frontendAddrs.add(address(ip, p.port(), p));
        }
        List<Address> nodePortAddrs = new ArrayList<>();
        if (p.nodePort() != 0) {
          for (Address n : nodeAddresses) {
            nodePortAddrs.add(new Address(n.family(), n.address(), p.nodePort(), p.protocol()));
          }
        }
        for (Address f : frontendAddrs) {
          out.put(f, desiredFor(r, i, f, common | io.porin.agent.bpf.MapLayouts.LB_CLUSTER_IP));
        }
        for (Address f : nodePortAddrs) {
          out.put(f, desiredFor(r, i, f, common | io.porin.agent.bpf.MapLayouts.LB_NODE_PORT));
        }
      }
    }
  }

  /** Logs a problem once per distinct message (a record that stays bad is not logged per pass). */
  private void complain(String key, String message) {
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
    Cidr c = Cidr.parse(ip + (ip.contains(":") ? "/128" : "/32"));
    return new Address(c.family(), c.network(), port, p.protocol());
  }

  /** Writes the differences: backends, then frontends, then what went away. */
  private void apply() {
    long started = System.nanoTime();
    Map<Address, Desired> want = desired();
    int writes = 0;
    Set<Address> usedBackends = new HashSet<>();
    for (Desired d : want.values()) {
      usedBackends.addAll(d.active());
      usedBackends.addAll(d.terminating());
    }
    for (Address b : usedBackends) {
      if (!backendIds.containsKey(b)) {
        int id = backendsUsed.nextClearBit(1);
        lb.putBackend(id, b);
        backendsUsed.set(id);
        backendIds.put(b, id);
        writes++;
      }
    }
    Set<Integer> liveTables = new HashSet<>();
    for (Map.Entry<Address, Desired> e : want.entrySet()) {
      try {
        writes += program(e.getKey(), e.getValue(), liveTables);
      } catch (RuntimeException ex) {
        // one frontend that cannot be written must not keep the others from being written
        complain(
            e.getKey().toString(),
            "service "
                + e.getValue().service()
                + " frontend "
                + e.getKey()
                + " is not programmed: "
                + ex.getMessage());
      }
    }
    for (Address f : new ArrayList<>(frontends.keySet())) {
      if (!want.containsKey(f)) {
        LoadBalancer.Service before = frontends.remove(f);
        lb.deleteFrontend(f, before);
        Integer revNat = revNats.remove(f);
        if (revNat != null) {
          lb.deleteRevNat(revNat);
          revNatsUsed.clear(revNat);
          serviceByRevNat.remove(revNat);
        }
        frontendServices.remove(f);
        writes++;
      }
    }
    for (Integer table : new ArrayList<>(maglevs.keySet())) {
      if (!liveTables.contains(table)) {
        lb.deleteMaglev(table);
        maglevs.remove(table);
      }
    }
    for (Address b : new ArrayList<>(backendIds.keySet())) {
      if (!usedBackends.contains(b)) {
        int id = backendIds.remove(b);
        lb.deleteBackend(id);
        backendsUsed.clear(id);
        writes++;
      }
    }
    if (writes > 0) {
      LOG.debugf(
          "services: %d frontends, %d backends, %d writes in %d ms",
          frontends.size(), backendIds.size(), writes, (System.nanoTime() - started) / 1_000_000);
    }
  }

  /** One frontend: its number, its Maglev table, its slots. Returns the writes done. */
  private int program(Address f, Desired d, Set<Integer> liveTables) {
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
          f.toString(),
          "service "
              + d.service()
              + " has "
              + usable.size()
              + " backends, more than a Maglev table holds: random selection for "
              + f);
      flags &= ~io.porin.agent.bpf.MapLayouts.LB_MAGLEV;
    }
    LoadBalancer.Service svc =
        new LoadBalancer.Service(revNat, flags, d.affinityTimeout(), active, terminating);
    frontendServices.put(f, d.service());
    serviceByRevNat.put(revNat, d.service());
    if ((flags & io.porin.agent.bpf.MapLayouts.LB_MAGLEV) != 0 && !usable.isEmpty()) {
      liveTables.add(revNat);
      if (!usable.equals(maglevs.get(revNat))) {
        List<String> names = new ArrayList<>();
        for (int id : usable) {
          names.add(backend(id).toString());
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
