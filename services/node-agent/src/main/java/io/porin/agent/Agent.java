package io.porin.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.RingBufferReader;
import io.porin.agent.cni.CniServer;
import io.porin.agent.config.AgentConfig;
import io.porin.agent.control.ControlPlane;
import io.porin.agent.control.IdentityLabels;
import io.porin.agent.control.IpcacheSync;
import io.porin.agent.control.KubernetesPodLabels;
import io.porin.agent.control.MeshWatch;
import io.porin.agent.control.PodLabels;
import io.porin.agent.control.PolicySubscriber;
import io.porin.agent.control.Publisher;
import io.porin.agent.control.StandalonePodLabels;
import io.porin.agent.encrypt.WireGuardAgent;
import io.porin.agent.endpoint.ConntrackCollector;
import io.porin.agent.endpoint.EndpointAnnouncer;
import io.porin.agent.endpoint.EndpointLifecycle;
import io.porin.agent.endpoint.EndpointRestore;
import io.porin.agent.endpoint.EndpointStore;
import io.porin.agent.endpoint.Endpoints;
import io.porin.agent.endpoint.IdentityReferences;
import io.porin.agent.endpoint.LabelFollower;
import io.porin.agent.endpoint.NodeAddresses;
import io.porin.agent.endpoint.PolicyEnforcer;
import io.porin.agent.endpoint.Revisions;
import io.porin.agent.flow.AgentDirectory;
import io.porin.agent.flow.FlowBuilder;
import io.porin.agent.flow.FlowExport;
import io.porin.agent.flow.FlowPipeline;
import io.porin.agent.flow.FlowRing;
import io.porin.agent.health.AgentMetrics;
import io.porin.agent.net.IprouteWiring;
import io.porin.agent.net.PodNetwork;
import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import io.porin.agent.service.ServiceSync;
import io.porin.agent.service.ServiceWatch;
import io.porin.api.ipam.v1.NodeCidrs;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.tls.RevocationWatch;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * (node CIDRs, publication, ipcache, policy stream) and serves CNI — the steps of {@link #bringUp},
 * each a few lines. Control-plane trouble never stops the datapath: it keeps enforcing the last
 * known state while the agent retries.
 */
@Singleton
public class Agent {
  private static final Logger LOG = Logger.getLogger(Agent.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AgentConfig config;
  private final MeterRegistry registry;
  private final Instance<KubernetesClient> kubernetes;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-agent").daemon().unstarted(r));
  private final AtomicLong eventCount = new AtomicLong();
  private final Endpoints endpoints = new Endpoints();
  private final Cookies cookies = new Cookies();
  private final List<AutoCloseable> closeOnStop = new ArrayList<>();
  private volatile String node;
  private volatile String startupProblem = "starting";
  private volatile LinuxDatapath datapath;
  private volatile KvStore kv;
  private volatile ControlPlane control;
  private volatile Publisher publisher;
  private volatile IpcacheSync ipcache;
  private volatile ServiceSync services;
  private volatile PolicySubscriber policies;
  private volatile NodeCidrs cidrs;
  private volatile FlowPipeline flows;
  private volatile WireGuardAgent wireGuard;
  private volatile NodeAddresses nodeAddresses;

  private final ServiceTls tls;
  private final RevocationWatch revocations;
  private final String cluster;
  private final int clusterId;

  public Agent(
      AgentConfig config,
      MeterRegistry registry,
      Instance<KubernetesClient> kubernetes,
      ServiceTls tls,
      RevocationWatch revocations,
      io.porin.service.cluster.ClusterConfig clusterConfig) {
    this.cluster = io.porin.service.cluster.ClusterConfig.checked(clusterConfig);
    this.clusterId = clusterConfig.id();
    this.tls = tls;
    this.revocations = revocations;
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
      AgentConfig.Agent a = config.agent();
      Path state = Path.of(a.stateDir().orElse("/var/run/porin/" + node));
      Files.createDirectories(state);
      startupProblem = "loading the datapath";
      datapath = LinuxDatapath.open(Path.of(a.pinDir().orElse("/sys/fs/bpf/porin/" + node)));
      kv =
          KvStore.connect(
              config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
      revocations.follow(kv);
      control = new ControlPlane(a.identity(), a.ipam(), a.policy(), tls.cluster());
      wireGuard = encryption(state);
      NodeAddresses addresses = joinNode(state);
      attachDevices();
      int podMtu = a.mtu();
      if (wireGuard != null) {
        startupProblem = "starting WireGuard";
        podMtu -= WireGuardAgent.OVERHEAD;
        List<Cidr> own = new ArrayList<>();
        own.add(addresses.ipv4Cidr());
        if (addresses.ipv6Cidr() != null) {
          own.add(addresses.ipv6Cidr());
        }
        for (String ip : a.nodeAddresses().orElse(List.of())) {
          own.add(Cidr.parse(ip.contains(":") ? ip + "/128" : ip + "/32"));
        }
        wireGuard.start(kv, podMtu, own);
        wireGuard.registerMetrics(registry);
        scheduler.scheduleWithFixedDelay(wireGuard::refreshMetrics, 1, 5, TimeUnit.SECONDS);
      }
      ipcache = new IpcacheSync(datapath, kv, node, a.autoNodeRoutes());
      IpcacheSync ic = ipcache;
      java.util.function.Predicate<String> revokedNode =
          n -> {
            try {
              return revocations.revokedAt(io.porin.tls.PeerIdentity.node(n)).isPresent();
            } catch (IllegalArgumentException e) {
              return false;
            }
          };
      ic.ignoreNodes(revokedNode);
      revocations.onChange(() -> ic.ignoreNodes(revokedNode));
      startupProblem = "programming services";
      services = new ServiceSync(datapath.loadBalancer(), a.nodeAddresses().orElse(List.of()));
      ServiceWatch serviceWatch = closing(new ServiceWatch(kv, services));
      if (a.socketLbCgroup().isPresent()) {
        datapath.attachSocketLb(Path.of(a.socketLbCgroup().get()));
        LOG.infof("socket load balancing on cgroup %s", a.socketLbCgroup().get());
      }
      PodLabels labels = podLabels(LabelFilter.configured(a.labels().orElse(List.of())));

      // the endpoint room: who does what (see its package)
      Revisions revisions = new Revisions(datapath);
      PolicyEnforcer enforcer =
          new PolicyEnforcer(datapath, new PolicyTranslator(cookies), revisions);
      EndpointLifecycle.Parts parts =
          new EndpointLifecycle.Parts(
              addresses,
              datapath,
              new IprouteWiring(),
              new EndpointStore(state),
              labels,
              new IdentityReferences(control, node, endpoints),
              new EndpointAnnouncer(node, datapath, ipcache, publisher),
              enforcer,
              endpoints,
              a.conntrackPerEndpoint(),
              a.policyWait().toMillis(),
              podMtu);
      EndpointLifecycle lifecycle = new EndpointLifecycle(parts);

      startupProblem = "restoring endpoints";
      new EndpointRestore(parts, lifecycle, revisions).restore();
      ipcache.start();
      subscribeToPolicy(lifecycle);
      followLabels(labels, lifecycle);
      IdentityLabels identityLabels = closing(new IdentityLabels(control, scheduler));
      identityLabels.start();
      // connected clusters, from what this cluster's clustermesh service imported
      closing(
              new MeshWatch(
                  clusterId,
                  ipcache,
                  identityLabels,
                  serviceWatch,
                  nodes -> {
                    WireGuardAgent wg = wireGuard;
                    if (wg != null) {
                      wg.setRemote(nodes);
                    }
                  }))
          .start(kv);
      scheduler.scheduleWithFixedDelay(
          () -> keepIdentitiesAlive(parts.identities()), 0, 10, TimeUnit.SECONDS);
      ConntrackCollector conntrack = new ConntrackCollector(datapath, endpoints, System::nanoTime);
      long gc = a.conntrackGcInterval().toMillis();
      scheduler.scheduleWithFixedDelay(conntrack::collect, gc, gc, TimeUnit.MILLISECONDS);

      CniServer cni = closing(new CniServer(Path.of(a.cniSocket()), lifecycle, a.cniReadTimeout()));
      AgentMetrics metrics =
          new AgentMetrics(
              registry,
              datapath,
              endpoints,
              enforcer,
              conntrack,
              policies,
              ipcache,
              cni,
              eventCount);
      scheduler.scheduleWithFixedDelay(metrics::refresh, 0, 1, TimeUnit.SECONDS);
      startFlows(identityLabels, metrics);
      cni.start();
      writeCniConfig();
      startupProblem = null;
      LOG.infof(
          "node %s up: pod CIDRs %s%s, %d endpoints restored",
          node,
          addresses.ipv4Cidr(),
          addresses.ipv6Cidr() == null ? "" : " " + addresses.ipv6Cidr(),
          endpoints.size());
    } catch (Exception e) {
      startupProblem = "start-up failed: " + e.getMessage();
      LOG.error("the agent cannot start", e);
      Quarkus.asyncExit(1);
    }
  }

  /**
   * Encryption as configured: the WireGuard agent (its key loaded or made; started after the node
   * joined), or null when off. Strict mode needs WireGuard.
   */
  private WireGuardAgent encryption(Path state) throws IOException {
    AgentConfig.Agent a = config.agent();
    switch (a.encryption()) {
      case "none" -> {
        if (a.encryptionStrict()) {
          throw new IllegalArgumentException(
              "porin.agent.encryption-strict=true needs porin.agent.encryption=wireguard (it is"
                  + " none): nothing could ever be sent between nodes");
        }
        datapath.encryption().setMode(0, false, false);
        datapath.encryption().prefixes().keySet().forEach(datapath.encryption()::deletePrefix);
        // encryption turned off: the device of a previous run goes (no key, no listener left)
        if (io.porin.agent.bpf.Tc.ifindex(WireGuardAgent.DEVICE) != 0) {
          io.porin.agent.net.Command.run(
              List.of("ip", "link", "del", "dev", WireGuardAgent.DEVICE));
          LOG.infof("encryption is off: removed %s", WireGuardAgent.DEVICE);
        }
        return null;
      }
      case "wireguard" -> {
        int port = a.wireguard().port();
        if (port < 1 || port > 65535) {
          throw new IllegalArgumentException(
              "porin.agent.wireguard.port: " + port + " is not a UDP port");
        }
        if ((port >= 30000 && port <= 32767)
            || port >= io.porin.agent.bpf.MapLayouts.LB_NAT_PORT_MIN) {
          throw new IllegalArgumentException(
              "porin.agent.wireguard.port: "
                  + port
                  + " is in the node port range (30000-32767) or the NAT ports ("
                  + io.porin.agent.bpf.MapLayouts.LB_NAT_PORT_MIN
                  + "-65535): WireGuard's packets would be taken for a service's");
        }
        return closing(
            new WireGuardAgent(
                node,
                state,
                port,
                a.encryptionStrict(),
                datapath.encryption(),
                this::republishNode,
                procSys()));
      }
      default ->
          throw new IllegalArgumentException(
              "porin.agent.encryption: \"" + a.encryption() + "\" is not none or wireguard");
    }
  }

  private void republishNode() {
    publisher.put(Keys.Nodes.node(node), nodeJson(nodeAddresses).toString());
  }

  private io.porin.agent.net.ProcSys procSys() {
    return new io.porin.agent.net.ProcSys(Path.of(config.agent().procSys()));
  }

  /** This node's CIDRs (from IPAM), its node namespace prepared, its node record published. */
  private NodeAddresses joinNode(Path state) throws Exception {
    cidrs = nodeCidrs(state);
    Cidr v4 = Cidr.parse(cidrs.getIpv4Cidrs(0));
    Cidr v6 = cidrs.getIpv6CidrsCount() > 0 ? Cidr.parse(cidrs.getIpv6Cidrs(0)) : null;
    NodeAddresses n = NodeAddresses.of(node, v4, v6);
    PodNetwork.prepareNode(procSys(), n.gateway4(), n.gateway6());
    publisher = closing(new Publisher(kv));
    publisher.start();
    nodeAddresses = n;
    publisher.put(Keys.Nodes.node(node), nodeJson(n).toString());
    return n;
  }

  /** Host routing on the node's uplinks (configured, or those holding the node's addresses). */
  private void attachDevices() {
    List<String> names =
        config
            .agent()
            .devices()
            .orElseGet(
                () ->
                    io.porin.agent.net.NodeDevices.holding(
                        config.agent().nodeAddresses().orElse(List.of())));
    for (String name : names) {
      datapath.attachDevice(io.porin.agent.bpf.Tc.ifindex(name));
      LOG.infof("host routing on %s", name);
    }
  }

  private void subscribeToPolicy(EndpointLifecycle lifecycle) {
    policies =
        closing(
            new PolicySubscriber(
                control,
                node,
                (rev, changed, cidrIdentities) -> {
                  ipcache.setCidrIdentities(cidrIdentities);
                  lifecycle.policySynced(rev, changed);
                }));
    lifecycle.setPolicies(policies);
    policies.start(endpoints.hostedIdentities());
  }

  private void followLabels(PodLabels labels, EndpointLifecycle lifecycle) {
    LabelFollower follower = closing(new LabelFollower(endpoints, labels, lifecycle));
    follower.start();
    long every = config.agent().labelResync().toMillis();
    scheduler.scheduleWithFixedDelay(follower::resync, every, every, TimeUnit.MILLISECONDS);
  }

  /** Datapath events to flows: enrichment from what this agent knows about the cluster. */
  private void startFlows(IdentityLabels identityLabels, AgentMetrics metrics) throws IOException {
    AgentConfig.Flows f = config.agent().flows();
    FlowExport export =
        f.exportFile().isEmpty()
            ? null
            : closing(
                new FlowExport(
                    Path.of(f.exportFile().get()), f.exportMaxSize(), f.exportMaxFiles()));
    FlowPipeline pipeline =
        new FlowPipeline(
            new FlowBuilder(
                node,
                new AgentDirectory(
                    endpoints,
                    ipcache,
                    identityLabels,
                    cookies,
                    revNat -> services == null ? null : services.serviceOf(revNat))),
            new FlowRing(f.capacity()),
            export,
            registry,
            metrics::eventsLost);
    flows = pipeline;
    RingBufferReader events =
        datapath.events(
            config.agent().eventsInterval().toMillis(),
            b -> {
              eventCount.incrementAndGet();
              pipeline.accept(b);
            },
            pipeline::flush);
    closing(events);
  }

  private void keepIdentitiesAlive(IdentityReferences identities) {
    try {
      identities.keepAlive();
    } catch (RuntimeException e) {
      LOG.debugf(e, "keeping identities alive");
    }
  }

  /** 05-porin.conflist, pointing the plugin at this agent's socket (atomically replaced). */
  private void writeCniConfig() throws IOException {
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
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  private PodLabels podLabels(LabelFilter filter) {
    return switch (config.agent().source()) {
      case "standalone" -> new StandalonePodLabels(kv, filter, cluster);
      case "kubernetes" -> new KubernetesPodLabels(kubernetes.get(), filter, cluster);
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

  private ObjectNode nodeJson(NodeAddresses n) {
    ObjectNode o = JSON.createObjectNode();
    o.put("name", node);
    var addresses = o.putArray("addresses");
    config.agent().nodeAddresses().orElse(List.of()).forEach(addresses::add);
    o.putArray("ipv4Cidrs").add(n.ipv4Cidr().toString());
    var v6 = o.putArray("ipv6Cidrs");
    if (n.ipv6Cidr() != null) {
      v6.add(n.ipv6Cidr().toString());
    }
    WireGuardAgent wg = wireGuard;
    if (wg != null) {
      o.putObject("wireguard").put("publicKey", wg.publicKey()).put("port", wg.port());
    }
    o.put("gateway4", n.gateway4());
    if (n.gateway6() != null) {
      o.put("gateway6", n.gateway6());
    }
    return o;
  }

  private <T extends AutoCloseable> T closing(T c) {
    closeOnStop.add(c);
    return c;
  }

  void onStop(@Observes ShutdownEvent ev) {
    // The programs stay attached and the maps pinned: the datapath keeps enforcing.
    scheduler.shutdownNow();
    List<AutoCloseable> all = new ArrayList<>(closeOnStop);
    java.util.Collections.reverse(all);
    all.add(ipcache);
    all.add(control);
    all.add(kv);
    for (AutoCloseable c : all) {
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

  public LinuxDatapath datapath() {
    return datapath;
  }

  public Endpoints endpoints() {
    return endpoints;
  }

  public PolicySubscriber policies() {
    return policies;
  }

  /** The node's services as programmed (null before start-up got there). */
  public ServiceSync services() {
    return services;
  }

  public IpcacheSync ipcache() {
    return ipcache;
  }

  /** Transparent encryption (null when off). */
  public WireGuardAgent wireGuard() {
    return wireGuard;
  }

  public Cookies cookies() {
    return cookies;
  }

  public NodeCidrs cidrs() {
    return cidrs;
  }

  /** The flow pipeline (null until the agent is up). */
  public FlowPipeline flows() {
    return flows;
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return "node";
    }
  }
}
