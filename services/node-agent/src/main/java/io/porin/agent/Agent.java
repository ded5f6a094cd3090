package io.porin.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.agent.bpf.Datapath;
import io.porin.agent.bpf.RingBufferReader;
import io.porin.agent.cni.CniServer;
import io.porin.agent.config.AgentConfig;
import io.porin.agent.control.ControlPlane;
import io.porin.agent.control.IpcacheSync;
import io.porin.agent.control.KubernetesPodLabels;
import io.porin.agent.control.PodLabels;
import io.porin.agent.control.PolicySubscriber;
import io.porin.agent.control.Publisher;
import io.porin.agent.control.StandalonePodLabels;
import io.porin.agent.endpoint.EndpointManager;
import io.porin.agent.endpoint.EndpointStore;
import io.porin.agent.net.PodNetwork;
import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.api.ipam.v1.NodeCidrs;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The node agent: loads the datapath, takes back the previous run's endpoints, joins the cluster
 * (node CIDRs, publication, ipcache, policy stream) and serves CNI. Control-plane trouble never
 * stops the datapath: it keeps enforcing the last known state while the agent retries.
 */
@Singleton
public class Agent {
  private static final Logger LOG = Logger.getLogger(Agent.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AgentConfig config;
  private final MeterRegistry registry;
  private final jakarta.enterprise.inject.Instance<io.fabric8.kubernetes.client.KubernetesClient>
      kubernetes;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-agent").daemon().unstarted(r));
  private final AtomicLong eventCount = new AtomicLong();
  private volatile String node;
  private volatile Datapath datapath;
  private volatile KvStore kv;
  private volatile ControlPlane control;
  private volatile Publisher publisher;
  private volatile IpcacheSync ipcache;
  private volatile EndpointManager endpoints;
  private volatile PolicySubscriber policies;
  private volatile CniServer cni;
  private volatile RingBufferReader events;
  private volatile NodeCidrs cidrs;
  private volatile Cookies cookies;
  private volatile io.porin.agent.control.IdentityLabels identityLabels;
  private volatile io.porin.agent.flow.FlowPipeline flows;
  private volatile io.porin.agent.flow.FlowExport flowExport;
  private volatile long lostSeen;
  private volatile String startupProblem = "starting";

  public Agent(
      AgentConfig config,
      MeterRegistry registry,
      jakarta.enterprise.inject.Instance<io.fabric8.kubernetes.client.KubernetesClient>
          kubernetes) {
    this.config = config;
    this.registry = registry;
    this.kubernetes = kubernetes;
  }

  void onStart(@Observes StartupEvent ev) {
    node = config.agent().nodeName().orElseGet(Agent::hostname);
    Thread.ofPlatform().name("porin-agent-start").daemon().start(this::bringUp);
  }

  private void bringUp() {
    try {
      Path state = Path.of(config.agent().stateDir().orElse("/var/run/porin/" + node));
      Path pins = Path.of(config.agent().pinDir().orElse("/sys/fs/bpf/porin/" + node));
      Files.createDirectories(state);
      startupProblem = "loading the datapath";
      datapath = Datapath.open(pins);
      kv = KvStore.connect(config.etcd().endpoints(), config.etcd().timeout());
      control =
          new ControlPlane(
              config.agent().identity(), config.agent().ipam(), config.agent().policy());
      cidrs = nodeCidrs(state);
      Cidr v4 = Cidr.parse(cidrs.getIpv4Cidrs(0));
      Cidr v6 = cidrs.getIpv6CidrsCount() > 0 ? Cidr.parse(cidrs.getIpv6Cidrs(0)) : null;
      EndpointManager.Node n =
          new EndpointManager.Node(
              node,
              v4,
              v6,
              EndpointManager.gatewayOf(v4),
              v6 == null ? null : EndpointManager.gatewayOf(v6));
      PodNetwork.prepareNode(n.gateway4(), n.gateway6());

      publisher = new Publisher(kv);
      publisher.start();
      publisher.put(Keys.Nodes.node(node), nodeJson(n).toString());
      ipcache = new IpcacheSync(datapath, kv, node, config.agent().autoNodeRoutes());
      cookies = new Cookies();
      LabelFilter filter = LabelFilter.configured(config.agent().labels().orElse(List.of()));
      endpoints =
          new EndpointManager(
              n,
              datapath,
              new EndpointStore(state),
              control,
              podLabels(filter),
              publisher,
              ipcache,
              new PolicyTranslator(cookies),
              config.agent().policyWait().toMillis());
      startupProblem = "restoring endpoints";
      endpoints.restore();
      ipcache.start();
      policies =
          new PolicySubscriber(
              control,
              node,
              (rev, changed, cidrIdentities) -> {
                ipcache.setCidrIdentities(cidrIdentities);
                endpoints.policySynced(rev, changed);
              });
      endpoints.setPolicies(policies);
      policies.start(endpoints.hostedIdentities());
      identityLabels = new io.porin.agent.control.IdentityLabels(control, scheduler);
      identityLabels.start();
      flows = flowPipeline();
      io.porin.agent.flow.FlowPipeline pipeline = flows;
      events =
          datapath.events(
              config.agent().eventsInterval().toMillis(),
              b -> {
                eventCount.incrementAndGet();
                pipeline.accept(b);
              },
              pipeline::flush);
      scheduler.scheduleWithFixedDelay(this::keepAlive, 0, 10, TimeUnit.SECONDS);
      cni = new CniServer(Path.of(config.agent().cniSocket()), endpoints);
      cni.start();
      writeCniConfig();
      metrics();
      startupProblem = null;
      LOG.infof(
          "node %s up: pod CIDRs %s%s, %d endpoints restored",
          node, v4, v6 == null ? "" : " " + v6, endpoints.endpoints().size());
    } catch (Exception e) {
      startupProblem = "start-up failed: " + e.getMessage();
      LOG.error("the agent cannot start", e);
      Quarkus.asyncExit(1);
    }
  }

  /** 05-porin.conflist, pointing the plugin at this agent's socket (atomically replaced). */
  private void writeCniConfig() throws java.io.IOException {
    if (config.agent().cniConfDir().isEmpty()) {
      return;
    }
    Path dir = Path.of(config.agent().cniConfDir().get());
    Files.createDirectories(dir);
    ObjectNode plugin = JSON.createObjectNode();
    plugin.put("type", "porin-cni").put("agent-socket", config.agent().cniSocket());
    ObjectNode conf = JSON.createObjectNode();
    conf.put("cniVersion", "1.0.0").put("name", "porin").putArray("plugins").add(plugin);
    Path tmp = dir.resolve(".05-porin.conflist.tmp");
    Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(conf));
    Files.move(
        tmp,
        dir.resolve("05-porin.conflist"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private PodLabels podLabels(LabelFilter filter) {
    return switch (config.agent().source()) {
      case "standalone" -> new StandalonePodLabels(kv, filter);
      case "kubernetes" -> new KubernetesPodLabels(kubernetes.get(), filter);
      default ->
          throw new IllegalArgumentException(
              "porin.agent.source: \""
                  + config.agent().source()
                  + "\" is not standalone or kubernetes");
    };
  }

  /** This node's CIDRs from IPAM (saved for restarts while IPAM is away), retried until known. */
  private NodeCidrs nodeCidrs(Path state) throws Exception {
    Path saved = state.resolve("node-cidrs.json");
    long backoff = 1000;
    while (true) {
      try {
        NodeCidrs c = control.allocateNode(node);
        ObjectNode o = JSON.createObjectNode();
        o.putArray("ipv4").add(c.getIpv4Cidrs(0));
        c.getIpv6CidrsList().forEach(o.withArray("ipv6")::add);
        Files.writeString(saved, o.toString());
        return c;
      } catch (RuntimeException e) {
        if (Files.exists(saved)) {
          JsonNode o = JSON.readTree(saved.toFile());
          NodeCidrs.Builder b = NodeCidrs.newBuilder().setNode(node);
          o.path("ipv4").forEach(x -> b.addIpv4Cidrs(x.asText()));
          o.path("ipv6").forEach(x -> b.addIpv6Cidrs(x.asText()));
          LOG.warnf("IPAM unreachable (%s): using the saved node CIDRs", e.getMessage());
          return b.build();
        }
        startupProblem = "waiting for IPAM at " + control.ipamTarget() + ": " + e.getMessage();
        LOG.warnf("%s; retrying in %d ms", startupProblem, backoff);
        Thread.sleep(backoff);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private ObjectNode nodeJson(EndpointManager.Node n) {
    ObjectNode o = JSON.createObjectNode();
    o.put("name", node);
    config.agent().nodeAddresses().orElse(List.of()).forEach(o.putArray("addresses")::add);
    if (!o.has("addresses")) {
      o.putArray("addresses");
    }
    o.putArray("ipv4Cidrs").add(n.ipv4Cidr().toString());
    var v6 = o.putArray("ipv6Cidrs");
    if (n.ipv6Cidr() != null) {
      v6.add(n.ipv6Cidr().toString());
    }
    o.put("gateway4", n.gateway4());
    if (n.gateway6() != null) {
      o.put("gateway6", n.gateway6());
    }
    return o;
  }

  private void keepAlive() {
    try {
      endpoints.keepIdentitiesAlive();
    } catch (RuntimeException e) {
      LOG.debugf(e, "keeping identities alive");
    }
  }

  private void metrics() {
    for (String state :
        List.of(
            EndpointManager.READY,
            EndpointManager.WAITING_FOR_POLICY,
            EndpointManager.POLICY_OVERFLOW)) {
      Gauge.builder(
              "cilium_endpoint_state",
              () -> endpoints.endpoints().stream().filter(l -> l.state().equals(state)).count())
          .tag("endpoint_state", state)
          .description("Endpoints of this node by state")
          .register(registry);
    }
    Gauge.builder("porin_policy_map_overflow_total", endpoints, EndpointManager::overflows)
        .description("Times an endpoint's policy did not fit its policy map (endpoint locked down)")
        .register(registry);
    Gauge.builder("porin_agent_policy_revision", policies, PolicySubscriber::revision)
        .description("The policy revision this node enforces")
        .register(registry);
    Gauge.builder("porin_agent_ipcache_entries", ipcache, IpcacheSync::size)
        .description("Entries in the kernel ipcache")
        .register(registry);
    Gauge.builder("porin_agent_events_total", eventCount, AtomicLong::get)
        .description("Datapath events drained from the ring")
        .register(registry);
    policyMapPressure =
        io.micrometer.core.instrument.MultiGauge.builder("cilium_bpf_map_pressure")
            .description("Fill ratio of each endpoint's policy map (entries / capacity)")
            .register(registry);
    scheduler.scheduleWithFixedDelay(this::datapathMetrics, 0, 1, TimeUnit.SECONDS);
  }

  private volatile io.micrometer.core.instrument.MultiGauge policyMapPressure;
  private final java.util.Map<String, AtomicLong> datapathCounts =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The kernel's own counters as Cilium names them (cilium_forward_count_total,
   * cilium_drop_count_total by reason and direction, and their byte counts), and each endpoint's
   * policy map pressure, and the events the datapath lost (which the flow pipeline reports).
   * Refreshed every second: one read of the counters for all of them.
   */
  private void datapathMetrics() {
    try {
      long lost = 0;
      for (Datapath.Counter c : datapath.counters()) {
        if (c.reason() == io.porin.agent.bpf.MapLayouts.COUNTER_EVENTS_LOST) {
          lost += c.packets();
          continue;
        }
        String dir =
            c.direction() == io.porin.agent.bpf.MapLayouts.DIR_INGRESS ? "INGRESS" : "EGRESS";
        if (c.reason() == 0) {
          datapathCount("cilium_forward_count_total", c.packets(), "direction", dir);
          datapathCount("cilium_forward_bytes_total", c.bytes(), "direction", dir);
        } else {
          String reason = io.porin.core.flow.DropReasons.text(c.reason());
          datapathCount("cilium_drop_count_total", c.packets(), "reason", reason, "direction", dir);
          datapathCount("cilium_drop_bytes_total", c.bytes(), "reason", reason, "direction", dir);
        }
      }
      List<io.micrometer.core.instrument.MultiGauge.Row<?>> rows = new java.util.ArrayList<>();
      for (EndpointManager.Live l : endpoints.endpoints()) {
        rows.add(
            io.micrometer.core.instrument.MultiGauge.Row.of(
                io.micrometer.core.instrument.Tags.of(
                    "map_name", "cilium_policy_" + l.endpoint().id()),
                (double) l.entries() / io.porin.agent.bpf.MapLayouts.POLICY_MAX));
      }
      policyMapPressure.register(rows, true);
      lostSeen = lost;
    } catch (RuntimeException e) {
      LOG.debugf("datapath metrics: %s", e.getMessage());
    }
  }

  private void datapathCount(String name, long value, String... tags) {
    AtomicLong v =
        datapathCounts.computeIfAbsent(
            name + String.join("\u0000", tags),
            k -> {
              AtomicLong a = new AtomicLong();
              io.micrometer.core.instrument.FunctionCounter.builder(name, a, AtomicLong::get)
                  .tags(tags)
                  .register(registry);
              return a;
            });
    v.set(value);
  }

  /** Datapath events to flows: enrichment from what this agent knows about the cluster. */
  private io.porin.agent.flow.FlowPipeline flowPipeline() throws IOException {
    var directory =
        new io.porin.agent.flow.FlowBuilder.Directory() {
          @Override
          public java.util.Optional<io.porin.agent.flow.FlowBuilder.LocalEndpoint> local(int id) {
            return endpoints
                .byId(id)
                .map(
                    l -> {
                      var e = l.endpoint();
                      return new io.porin.agent.flow.FlowBuilder.LocalEndpoint(
                          e.id(), e.namespace(), e.pod(), e.labels(), e.hostInterface());
                    });
          }

          @Override
          public java.util.Optional<io.porin.agent.flow.FlowBuilder.RemotePeer> peer(
              java.net.InetAddress a) {
            IpcacheSync.Peer p = ipcache.peer(a);
            return p == null
                ? java.util.Optional.empty()
                : java.util.Optional.of(
                    new io.porin.agent.flow.FlowBuilder.RemotePeer(
                        p.namespace(), p.pod(), p.node(), p.endpointId()));
          }

          @Override
          public List<String> labels(int identity) {
            return identityLabels.of(identity);
          }

          @Override
          public java.util.Optional<Cookies.Attribution> attribution(int cookie) {
            return cookies.resolve(cookie);
          }
        };
    var f = config.agent().flows();
    if (f.exportFile().isPresent()) {
      flowExport =
          new io.porin.agent.flow.FlowExport(
              Path.of(f.exportFile().get()), f.exportMaxSize(), f.exportMaxFiles());
    }
    return new io.porin.agent.flow.FlowPipeline(
        new io.porin.agent.flow.FlowBuilder(node, directory),
        new io.porin.agent.flow.FlowRing(f.capacity()),
        flowExport,
        registry,
        this::datapathLost);
  }

  /** Events the datapath could not put in its ring, as of the last read of its counters. */
  private long datapathLost() {
    return lostSeen;
  }

  /** The flow pipeline (null until the agent is up). */
  public io.porin.agent.flow.FlowPipeline flows() {
    return flows;
  }

  void onStop(@Observes ShutdownEvent ev) {
    // The programs stay attached and the maps pinned: the datapath keeps enforcing.
    scheduler.shutdownNow();
    for (AutoCloseable c :
        new AutoCloseable[] {
          cni, events, flowExport, identityLabels, policies, ipcache, publisher, control, kv
        }) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          LOG.debugf(e, "stopping");
        }
      }
    }
    if (datapath != null) {
      datapath.close();
    }
  }

  // ---- what the API and health checks read

  public String node() {
    return node;
  }

  /** Empty when the agent is fully up; else why it is not (or degraded). */
  public Optional<String> problem() {
    if (startupProblem != null) {
      return Optional.of(startupProblem);
    }
    List<String> problems = new ArrayList<>();
    publisher.problem().ifPresent(problems::add);
    policies.problem().ifPresent(problems::add);
    return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
  }

  public boolean started() {
    return startupProblem == null;
  }

  public Datapath datapath() {
    return datapath;
  }

  public EndpointManager endpoints() {
    return endpoints;
  }

  public PolicySubscriber policies() {
    return policies;
  }

  public IpcacheSync ipcache() {
    return ipcache;
  }

  public Cookies cookies() {
    return cookies;
  }

  public NodeCidrs cidrs() {
    return cidrs;
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return "node";
    }
  }
}
