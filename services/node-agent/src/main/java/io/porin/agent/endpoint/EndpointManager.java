package io.porin.agent.endpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.agent.bpf.BpfException;
import io.porin.agent.bpf.Datapath;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.PolicyMapOverflowException;
import io.porin.agent.bpf.Tc;
import io.porin.agent.control.ControlPlane;
import io.porin.agent.control.IpcacheSync;
import io.porin.agent.control.PodLabels;
import io.porin.agent.control.PolicySubscriber;
import io.porin.agent.control.Publisher;
import io.porin.agent.net.NetException;
import io.porin.agent.net.PodNetwork;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.agent.policy.ProtoPolicies;
import io.porin.core.ipam.Cidr;
import io.porin.core.ipam.PodIpAllocator;
import io.porin.kvstore.Keys;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * This node's endpoints: CNI ADD, DEL and CHECK, restore after a restart, and enforcement of each
 * endpoint's policy in its kernel maps. One lock serialises changes to endpoints; waiting for a new
 * endpoint's policy happens outside it.
 */
public final class EndpointManager {
  private static final Logger LOG = Logger.getLogger(EndpointManager.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MTU = 1500;

  /** States as {@code porin endpoint list} shows them. */
  public static final String READY = "ready";

  public static final String WAITING_FOR_POLICY = "waiting-for-policy";
  public static final String POLICY_OVERFLOW = "policy-overflow";
  public static final String NOT_READY = "not-ready";

  /** An endpoint and what is known of its enforcement right now. */
  public static final class Live {
    private volatile Endpoint endpoint;
    private volatile String state = WAITING_FOR_POLICY;
    private volatile String detail = "no policy received yet";
    private volatile long policyRevision;
    private volatile int mapRevision;
    private volatile int entries;
    private volatile boolean ingressEnforced = true;
    private volatile boolean egressEnforced = true;

    /** Taken back from a previous run: its maps are re-derived at the first sync. */
    private volatile boolean restored;

    Live(Endpoint endpoint) {
      this.endpoint = endpoint;
    }

    public Endpoint endpoint() {
      return endpoint;
    }

    public String state() {
      return state;
    }

    public String detail() {
      return detail;
    }

    public long policyRevision() {
      return policyRevision;
    }

    public int entries() {
      return entries;
    }

    public boolean ingressEnforced() {
      return ingressEnforced;
    }

    public boolean egressEnforced() {
      return egressEnforced;
    }
  }

  /** What the node is: its name and the addresses its pods use. */
  public record Node(String name, Cidr ipv4Cidr, Cidr ipv6Cidr, String gateway4, String gateway6) {}

  private final Node node;
  private final Datapath datapath;
  private final EndpointStore store;
  private final ControlPlane control;
  private final PodLabels podLabels;
  private final Publisher publisher;
  private final IpcacheSync ipcache;
  private final PolicyTranslator translator;
  private final PodIpAllocator ipv4;
  private final PodIpAllocator ipv6;
  private final long policyWaitMillis;
  private PolicySubscriber policies;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<Integer, Live> byId = new ConcurrentHashMap<>();
  private final Map<Integer, List<CompletableFuture<Void>>> waiters = new HashMap<>();
  private final Set<Integer> pendingReleases = ConcurrentHashMap.newKeySet();
  private final AtomicLong overflows = new AtomicLong();
  private volatile boolean identitiesNeedRefresh;

  public EndpointManager(
      Node node,
      Datapath datapath,
      EndpointStore store,
      ControlPlane control,
      PodLabels podLabels,
      Publisher publisher,
      IpcacheSync ipcache,
      PolicyTranslator translator,
      long policyWaitMillis) {
    this.node = node;
    this.datapath = datapath;
    this.store = store;
    this.control = control;
    this.podLabels = podLabels;
    this.publisher = publisher;
    this.ipcache = ipcache;
    this.translator = translator;
    this.policyWaitMillis = policyWaitMillis;
    ipv4 = new PodIpAllocator(node.ipv4Cidr(), store.ipStore("ipv4"));
    ipv6 =
        node.ipv6Cidr() == null ? null : new PodIpAllocator(node.ipv6Cidr(), store.ipStore("ipv6"));
  }

  /** Set once the policy stream exists (it needs the identities this manager restored). */
  public void setPolicies(PolicySubscriber policies) {
    this.policies = policies;
  }

  public List<Live> endpoints() {
    List<Live> out = new ArrayList<>(byId.values());
    out.sort(Comparator.comparingInt(l -> l.endpoint().id()));
    return out;
  }

  public Optional<Live> byPod(String namespace, String pod) {
    return byId.values().stream()
        .filter(l -> namespace.equals(l.endpoint().namespace()) && pod.equals(l.endpoint().pod()))
        .findFirst();
  }

  public Optional<Live> byId(int id) {
    return Optional.ofNullable(byId.get(id));
  }

  public Set<Integer> hostedIdentities() {
    Set<Integer> out = new HashSet<>();
    byId.values().forEach(l -> out.add(l.endpoint().identity()));
    return out;
  }

  public long overflows() {
    return overflows.get();
  }

  // ---- restore

  /**
   * Takes back the endpoints of the previous run: programs re-attached (an atomic swap: traffic
   * keeps flowing), the maps as they were (the datapath keeps enforcing the last known policy),
   * IPs, ipcache and publication restored. Endpoints whose interface vanished are cleaned up.
   */
  public void restore() throws IOException {
    lock.lock();
    try {
      for (Endpoint e : store.load()) {
        if (!PodNetwork.hostLinkExists(e.containerId(), e.ifname())) {
          LOG.infof("endpoint %d (%s): interface gone, cleaning up", e.id(), e.displayName());
          forget(e);
          continue;
        }
        int ifindex = Tc.ifindex(e.hostInterface());
        Endpoint current = e.withIfindex(ifindex);
        Live live = new Live(current);
        Optional<Datapath.EndpointConfig> cfg = datapath.endpoint(ifindex);
        if (cfg.isPresent()) {
          live.mapRevision = cfg.get().policyRevision();
          live.ingressEnforced = (cfg.get().flags() & MapLayouts.EP_ENFORCE_INGRESS) != 0;
          live.egressEnforced = (cfg.get().flags() & MapLayouts.EP_ENFORCE_EGRESS) != 0;
          live.entries = datapath.readPolicy(e.id()).size();
          live.detail = "restored: enforcing the previous run's policy until the stream syncs";
          live.restored = true;
        } else {
          lockdown(live, "restored without datapath state: no policy received yet");
        }
        datapath.attach(ifindex);
        byId.put(e.id(), live);
        store.save(current);
        announce(current);
        LOG.infof("endpoint %d (%s) restored", e.id(), e.displayName());
      }
      // identities may have been collected while the agent was away: take references again
      identitiesNeedRefresh = !byId.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  // ---- CNI

  /** CNI ADD: the result JSON. Idempotent per container ID and interface. */
  public ObjectNode add(CniRequest r) {
    Live live;
    lock.lock();
    try {
      Optional<Live> existing = find(r.containerId(), r.ifname());
      if (existing.isPresent()) {
        live = existing.get();
      } else {
        live = create(r);
      }
    } finally {
      lock.unlock();
    }
    awaitPolicy(live);
    return result(live.endpoint(), r.cniVersion());
  }

  private Live create(CniRequest r) {
    Deque<Runnable> undo = new ArrayDeque<>();
    String owner = r.containerId() + "/" + r.ifname();
    try {
      PodLabels.Found labels = podLabels.labels(r.podNamespace(), r.podName());
      String ip4 = Cidr.format(Cidr.Family.IPV4, ipv4.allocate(owner));
      undo.push(() -> ipv4.release(owner));
      String ip6 = null;
      if (ipv6 != null) {
        ip6 = Cidr.format(Cidr.Family.IPV6, ipv6.allocate(owner));
        undo.push(() -> ipv6.release(owner));
      }
      int identity = control.allocateIdentity(labels.labels().strings(), node.name()).getId();
      undo.push(() -> releaseIdentityIfUnused(identity, -1));
      PodNetwork.Addresses addresses =
          new PodNetwork.Addresses(ip4, node.gateway4(), ip6, node.gateway6());
      // registered first: a create that fails half-way leaves links behind
      undo.push(() -> PodNetwork.delete(r.containerId(), r.ifname()));
      String hostMac = PodNetwork.create(r.containerId(), r.netns(), r.ifname(), addresses, MTU);
      String podMac = PodNetwork.mac(r.netns(), r.ifname());
      String host = PodNetwork.hostName(r.containerId(), r.ifname());
      int ifindex = Tc.ifindex(host);
      int id = freeId();
      Endpoint e =
          new Endpoint(
              id,
              r.containerId(),
              r.ifname(),
              r.netns(),
              r.podNamespace(),
              r.podName(),
              host,
              ifindex,
              hostMac,
              podMac,
              ip4,
              ip6,
              identity,
              labels.labels().strings());
      Live live = new Live(e);
      // fail closed until the policy is known
      lockdown(live, "no policy received yet");
      undo.push(() -> datapath.deleteEndpoint(ifindex));
      datapath.attach(ifindex);
      store.save(e);
      undo.push(() -> store.delete(id));
      byId.put(id, live);
      undo.push(() -> byId.remove(id));
      announce(e);
      if (policies != null) {
        policies.setIdentities(hostedIdentities());
        policies.policy(identity).ifPresent(p -> applyPolicy(live, p, policies.revision()));
      }
      LOG.infof(
          "endpoint %d (%s) added: %s%s identity %d%s",
          id,
          e.displayName(),
          ip4,
          ip6 == null ? "" : " " + ip6,
          identity,
          labels.podFound() ? "" : " (pod not in the store: namespace labels only)");
      return live;
    } catch (RuntimeException ex) {
      while (!undo.isEmpty()) {
        try {
          undo.pop().run();
        } catch (RuntimeException cleanup) {
          LOG.warnf("rolling back ADD of %s: %s", r.containerId(), cleanup.getMessage());
        }
      }
      throw translate(ex, "ADD");
    }
  }

  private void awaitPolicy(Live live) {
    if (!WAITING_FOR_POLICY.equals(live.state)) {
      return;
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (waiters) {
      waiters.computeIfAbsent(live.endpoint().identity(), k -> new ArrayList<>()).add(f);
    }
    if (!WAITING_FOR_POLICY.equals(live.state)) {
      return;
    }
    try {
      f.get(policyWaitMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      LOG.warnf(
          "endpoint %d (%s): no policy after %d ms; it stays locked down until one arrives",
          live.endpoint().id(), live.endpoint().displayName(), policyWaitMillis);
    } catch (Exception e) {
      Thread.currentThread().interrupt();
    }
  }

  /** CNI DEL: idempotent; a missing endpoint, interface or namespace is fine. */
  public void del(CniRequest r) {
    lock.lock();
    try {
      Optional<Live> live = find(r.containerId(), r.ifname());
      if (live.isPresent()) {
        forget(live.get().endpoint());
        byId.remove(live.get().endpoint().id());
        if (policies != null) {
          policies.setIdentities(hostedIdentities());
        }
        LOG.infof(
            "endpoint %d (%s) deleted",
            live.get().endpoint().id(), live.get().endpoint().displayName());
      } else {
        // nothing recorded: still remove what an interrupted ADD could have left
        PodNetwork.delete(r.containerId(), r.ifname());
        String owner = r.containerId() + "/" + r.ifname();
        ipv4.release(owner);
        if (ipv6 != null) {
          ipv6.release(owner);
        }
      }
    } catch (RuntimeException ex) {
      throw translate(ex, "DEL");
    } finally {
      lock.unlock();
    }
  }

  /** CNI CHECK: the interface, its address and route, and the programs. */
  public void check(CniRequest r) {
    Live live =
        find(r.containerId(), r.ifname())
            .orElseThrow(
                () ->
                    new CniException(
                        CniException.CHECK_FAILED,
                        "no endpoint for container " + r.containerId(),
                        "interface " + r.ifname()));
    Endpoint e = live.endpoint();
    if (!PodNetwork.hostLinkExists(e.containerId(), e.ifname())) {
      throw new CniException(
          CniException.CHECK_FAILED, "host interface " + e.hostInterface() + " is missing", "");
    }
    PodNetwork.checkPod(r.netns(), r.ifname(), e.ipv4())
        .ifPresent(
            p -> {
              throw new CniException(CniException.CHECK_FAILED, p, "");
            });
    if (!datapath.attached(e.ifindex())) {
      throw new CniException(
          CniException.CHECK_FAILED,
          "the Porin programs are not attached to " + e.hostInterface(),
          "");
    }
  }

  // ---- policy

  /** A synced policy revision: rewrite the maps of every endpoint whose identity changed. */
  public void policySynced(long revision, Set<Integer> changed) {
    lock.lock();
    try {
      for (Live live : byId.values()) {
        if (changed.contains(live.endpoint().identity())
            || WAITING_FOR_POLICY.equals(live.state)
            || live.restored) {
          Optional<io.porin.api.policy.v1.IdentityPolicy> p =
              policies.policy(live.endpoint().identity());
          if (p.isPresent()) {
            applyPolicy(live, p.get(), revision);
          } else {
            live.policyRevision = revision;
          }
        } else {
          live.policyRevision = revision;
        }
      }
    } finally {
      lock.unlock();
    }
  }

  private void applyPolicy(Live live, io.porin.api.policy.v1.IdentityPolicy proto, long revision) {
    Endpoint e = live.endpoint();
    live.restored = false;
    PolicyTranslator.Translated t = translator.translate(ProtoPolicies.toCore(proto));
    try {
      int changes = datapath.writePolicy(e.id(), t.entries());
      datapath.writeCidrClasses(e.id(), MapLayouts.DIR_INGRESS, t.ingressClasses());
      datapath.writeCidrClasses(e.id(), MapLayouts.DIR_EGRESS, t.egressClasses());
      Datapath.EndpointConfig before = datapath.endpoint(e.ifindex()).orElse(null);
      Datapath.EndpointConfig next =
          t.endpoint(e.id(), e.identity(), live.mapRevision, e.podMac(), e.hostMac());
      if (changes > 0 || !next.equals(before)) {
        next = t.endpoint(e.id(), e.identity(), ++live.mapRevision, e.podMac(), e.hostMac());
        datapath.putEndpoint(e.ifindex(), next);
      }
      live.entries = t.entries().size();
      live.ingressEnforced = (t.flags() & MapLayouts.EP_ENFORCE_INGRESS) != 0;
      live.egressEnforced = (t.flags() & MapLayouts.EP_ENFORCE_EGRESS) != 0;
      live.state = READY;
      live.detail = "";
    } catch (PolicyMapOverflowException overflow) {
      overflows.incrementAndGet();
      LOG.errorf(
          "endpoint %d (%s): %s; locked down (all traffic denied) until the policy fits",
          e.id(), e.displayName(), overflow.getMessage());
      lockdown(live, overflow.getMessage());
      live.state = POLICY_OVERFLOW;
    }
    live.policyRevision = revision;
    List<CompletableFuture<Void>> done;
    synchronized (waiters) {
      done = waiters.remove(e.identity());
    }
    if (done != null) {
      done.forEach(f -> f.complete(null));
    }
  }

  private void lockdown(Live live, String why) {
    Endpoint e = live.endpoint();
    PolicyTranslator.Translated t = translator.lockdown();
    datapath.writePolicy(e.id(), t.entries());
    datapath.putEndpoint(
        e.ifindex(), t.endpoint(e.id(), e.identity(), ++live.mapRevision, e.podMac(), e.hostMac()));
    live.entries = 0;
    live.ingressEnforced = true;
    live.egressEnforced = true;
    live.state = WAITING_FOR_POLICY;
    live.detail = why;
  }

  // ---- identities

  /**
   * Keeps this node's identity references alive; after a failure or a restart, takes every
   * endpoint's reference again (allocation is idempotent) and retries pending releases.
   */
  public void keepIdentitiesAlive() {
    try {
      long ttl = control.keepAlive(node.name());
      if (ttl <= 0) {
        identitiesNeedRefresh = true;
      }
    } catch (StatusRuntimeException e) {
      identitiesNeedRefresh = true;
      return;
    }
    if (identitiesNeedRefresh) {
      try {
        for (Live live : byId.values()) {
          control.allocateIdentity(live.endpoint().labels(), node.name());
        }
        identitiesNeedRefresh = false;
      } catch (StatusRuntimeException e) {
        LOG.debugf("identity service: %s", e.getMessage());
      }
    }
    for (int id : Set.copyOf(pendingReleases)) {
      try {
        control.releaseIdentity(id, node.name());
        pendingReleases.remove(id);
      } catch (StatusRuntimeException e) {
        break;
      }
    }
  }

  // ---- helpers

  private Optional<Live> find(String containerId, String ifname) {
    return byId.values().stream()
        .filter(
            l ->
                l.endpoint().containerId().equals(containerId)
                    && l.endpoint().ifname().equals(ifname))
        .findFirst();
  }

  private int freeId() {
    for (int i = 1; i < MapLayouts.ENDPOINTS_MAX; i++) {
      if (!byId.containsKey(i)) {
        return i;
      }
    }
    throw new CniException(
        CniException.ADDRESSES_EXHAUSTED,
        "this node has " + byId.size() + " endpoints, the most it can hold",
        "");
  }

  private void announce(Endpoint e) {
    for (String ip : ips(e)) {
      Cidr h = host(ip);
      datapath.putLocalAddress(h.family(), h.network(), e.ifindex());
      ipcache.putLocal(h, e.identity());
      ObjectNode v = JSON.createObjectNode();
      v.put("ip", ip).put("identity", e.identity()).put("node", node.name());
      v.put("namespace", e.namespace()).put("pod", e.pod()).put("endpointId", e.id());
      publisher.put(Keys.Endpoints.endpoint(ip), v.toString());
    }
  }

  /** Removes everything an endpoint holds (each step tolerates what is already gone). */
  private void forget(Endpoint e) {
    for (String ip : ips(e)) {
      publisher.remove(Keys.Endpoints.endpoint(ip));
      Cidr h = host(ip);
      datapath.deleteLocalAddress(h.family(), h.network());
      ipcache.removeLocal(h);
    }
    if (e.ifindex() > 0) {
      datapath.deleteEndpoint(e.ifindex());
    }
    try {
      datapath.deletePolicyMap(e.id());
      datapath.writeCidrClasses(e.id(), MapLayouts.DIR_INGRESS, Map.of());
      datapath.writeCidrClasses(e.id(), MapLayouts.DIR_EGRESS, Map.of());
    } catch (IOException | BpfException ex) {
      LOG.warnf("endpoint %d: removing its maps: %s", e.id(), ex.getMessage());
    }
    PodNetwork.delete(e.containerId(), e.ifname());
    String owner = e.containerId() + "/" + e.ifname();
    ipv4.release(owner);
    if (ipv6 != null) {
      ipv6.release(owner);
    }
    releaseIdentityIfUnused(e.identity(), e.id());
    store.delete(e.id());
  }

  private void releaseIdentityIfUnused(int identity, int exceptEndpoint) {
    boolean used =
        byId.values().stream()
            .anyMatch(
                l -> l.endpoint().identity() == identity && l.endpoint().id() != exceptEndpoint);
    if (used) {
      return;
    }
    try {
      control.releaseIdentity(identity, node.name());
    } catch (StatusRuntimeException e) {
      pendingReleases.add(identity);
    }
  }

  private static List<String> ips(Endpoint e) {
    List<String> out = new ArrayList<>();
    out.add(e.ipv4());
    if (e.ipv6() != null) {
      out.add(e.ipv6());
    }
    return out;
  }

  private static Cidr host(String ip) {
    return Cidr.parse(ip.contains(":") ? ip + "/128" : ip + "/32");
  }

  private static CniException translate(RuntimeException ex, String command) {
    if (ex instanceof CniException c) {
      return c;
    }
    if (ex instanceof StatusRuntimeException s) {
      Status.Code code = s.getStatus().getCode();
      if (code == Status.Code.RESOURCE_EXHAUSTED) {
        return new CniException(CniException.ADDRESSES_EXHAUSTED, s.getMessage(), command);
      }
      return new CniException(
          CniException.TRY_AGAIN_LATER, "control plane unavailable: " + s.getMessage(), command);
    }
    if (ex instanceof PodIpAllocator.ExhaustedException) {
      return new CniException(CniException.ADDRESSES_EXHAUSTED, ex.getMessage(), command);
    }
    if (ex instanceof NetException) {
      return new CniException(CniException.WIRING_FAILED, ex.getMessage(), command);
    }
    if (ex instanceof BpfException) {
      return new CniException(CniException.DATAPATH_FAILED, ex.getMessage(), command);
    }
    LOG.errorf(ex, "%s failed", command);
    return new CniException(CniException.INTERNAL, String.valueOf(ex.getMessage()), command);
  }

  private ObjectNode result(Endpoint e, String cniVersion) {
    boolean legacy = !cniVersion.startsWith("1.");
    ObjectNode out = JSON.createObjectNode();
    out.put("cniVersion", cniVersion);
    ArrayNode ifs = out.putArray("interfaces");
    ifs.addObject().put("name", e.hostInterface()).put("mac", e.hostMac());
    ifs.addObject().put("name", e.ifname()).put("mac", e.podMac()).put("sandbox", e.netns());
    ArrayNode ips = out.putArray("ips");
    ObjectNode v4 = ips.addObject();
    if (legacy) {
      v4.put("version", "4");
    }
    v4.put("address", e.ipv4() + "/32").put("gateway", node.gateway4()).put("interface", 1);
    ArrayNode routes = out.putArray("routes");
    routes.addObject().put("dst", "0.0.0.0/0").put("gw", node.gateway4());
    if (e.ipv6() != null) {
      ObjectNode v6 = ips.addObject();
      if (legacy) {
        v6.put("version", "6");
      }
      v6.put("address", e.ipv6() + "/128").put("gateway", node.gateway6()).put("interface", 1);
      routes.addObject().put("dst", "::/0").put("gw", node.gateway6());
    }
    out.putObject("dns");
    return out;
  }

  /** The gateway of a node CIDR: its first address after the network. */
  public static String gatewayOf(Cidr cidr) {
    return Cidr.format(cidr.family(), cidr.network().add(BigInteger.ONE));
  }
}
