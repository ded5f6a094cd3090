package io.porin.lab;

import io.porin.kvstore.KvStore;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Brings a lab up and down. A lab is a control-plane namespace ({@code <name>-cp}: etcd, the
 * identity, IPAM and policy services, and the underlay bridge {@code br0}) and N node namespaces
 * ({@code <name>-node<i>}, each with its agent), joined by veths on that bridge. Nodes route each
 * other's pod CIDRs natively over it (the agents add those routes). Nothing is done in the root
 * namespace: no link, address, route, sysctl or firewall rule there changes.
 */
public final class Lab {
  /** Ports inside the control-plane namespace (every lab has its own). */
  public static final int ETCD_PORT = 2379;

  /** etcd's health and metrics, plain HTTP on the control plane's loopback only. */
  public static final int ETCD_METRICS_PORT = 2381;

  /** How long the lab's certificates live (renewed by the components before they expire). */
  public static final java.time.Duration CERT_VALIDITY = java.time.Duration.ofHours(24);

  /** How long the lab admin's certificate (its CLI context's) lives. */
  public static final java.time.Duration ADMIN_VALIDITY = java.time.Duration.ofDays(30);

  /** The kube-dns service's address (its manifest, cluster-dns.yaml, asks for it). */
  public static final String CLUSTER_DNS_IP = "10.96.0.10";

  public static final int IDENTITY_PORT = 9401;
  public static final int IPAM_PORT = 9402;
  public static final int POLICY_PORT = 9403;
  public static final int AGENT_PORT = 9404;
  public static final int RELAY_PORT = 4245;

  private static final String BRIDGE = "br0";

  /**
   * The agent's JVM, as k8s/base/agent.yaml gives it (a test compares them): the serial collector
   * with a young generation of at most 32 MiB (a 16 MiB one lost flows to a live follower under
   * bench/flows.sh's flood) and a heap of up to 384 MiB (a follower of a flood queues flows: a 160
   * MiB heap ran out), small thread stacks, no perf-data file, and what malloc freed handed back to
   * the kernel every 5 s (C2's compilations leave tens of MiB free but held). With
   * MALLOC_ARENA_MAX=2 ({@link #COMPONENT_ENV}).
   */
  public static final List<String> AGENT_JVM =
      List.of(
          "-XX:+UseSerialGC",
          "-XX:MaxNewSize=32m",
          "-Xms32m",
          "-Xmx384m",
          "-Xss256k",
          "-XX:-UsePerfData",
          "-XX:TrimNativeHeapInterval=5000");

  /**
   * The environment of every component: glibc's malloc with two arenas, not eight per core (the
   * JVM's threads otherwise spread its native allocations over many mostly empty 64 MiB arenas).
   */
  public static final Map<String, String> COMPONENT_ENV = Map.of("MALLOC_ARENA_MAX", "2");

  private static final List<String> SERVICE_JVM =
      List.of(
          "-Xmx256m",
          "-XX:MaxNewSize=32m",
          "-XX:TieredStopAtLevel=1",
          "-XX:+UseSerialGC",
          "-XX:TrimNativeHeapInterval=5000");

  private final LabDirectory dir;
  private final Installation installation;
  private final Consumer<String> progress;

  public static final int CLUSTERMESH_PORT = 9406;

  LabDirectory dir() {
    return dir;
  }

  Consumer<String> progress() {
    return progress;
  }

  public Lab(LabDirectory dir, Installation installation, Consumer<String> progress) {
    this.dir = dir;
    this.installation = installation;
    this.progress = progress;
  }

  /**
   * Brings a lab up, step by step; a lab that is already up is left as it is.
   *
   * @throws LabException when a step fails; what was made so far stays recorded for {@link #down}
   */
  public LabState up(LabSpec spec) {
    return up(spec, "none", false);
  }

  private java.util.List<String> agentCapabilities;

  /**
   * Makes the next lab brought up run its agents with these capabilities only (as the Kubernetes
   * manifests grant them), checked against the kernel's names.
   */
  public Lab withAgentCapabilities(java.util.List<String> capabilities) {
    java.util.List<String> names = new ArrayList<>();
    for (String c : capabilities) {
      String n = c.strip().toLowerCase(java.util.Locale.ROOT).replaceFirst("^cap_", "");
      if (!n.matches("[a-z_]{2,32}") || !Host.knownCapability(n)) {
        throw new LabException("--agent-capabilities: \"" + c + "\" is not a capability");
      }
      names.add(n);
    }
    this.agentCapabilities = java.util.List.copyOf(names);
    return this;
  }

  private String runtime = Containers.PROCESSES;

  /**
   * Makes the next lab brought up run etcd, the services and the agents as {@code processes} (the
   * build's jars; the default) or in {@code podman} containers of Porin's images.
   */
  public Lab withRuntime(String runtime) {
    if (!Containers.PROCESSES.equals(runtime) && !Containers.PODMAN.equals(runtime)) {
      throw new LabException("--runtime: \"" + runtime + "\" is not processes or podman");
    }
    this.runtime = runtime;
    return this;
  }

  /**
   * Brings a lab up with encryption between its nodes: {@code none} or {@code wireguard} (strict:
   * pod traffic between nodes that cannot be encrypted is dropped).
   */
  public LabState up(LabSpec spec, String encryption, boolean strict) {
    return up(spec, encryption, strict, false);
  }

  /**
   * As {@link #up(LabSpec, String, boolean)}; {@code insecure} makes a lab without certificates
   * (plaintext gRPC and etcd, every caller an admin), for development only.
   */
  public LabState up(LabSpec spec, String encryption, boolean strict, boolean insecure) {
    return up(spec, encryption, strict, insecure, CERT_VALIDITY);
  }

  /**
   * As {@link #up(LabSpec, String, boolean, boolean)}, with the components' certificates living
   * {@code certValidity} (short lifetimes show renewal at work).
   */
  public LabState up(
      LabSpec spec,
      String encryption,
      boolean strict,
      boolean insecure,
      java.time.Duration certValidity) {
    if (certValidity.compareTo(java.time.Duration.ofSeconds(30)) < 0) {
      throw new LabException(
          "--cert-validity: " + certValidity + " is shorter than 30 s (renewal needs time)");
    }
    if (!encryption.equals("none") && !encryption.equals("wireguard")) {
      throw new LabException("--encryption: \"" + encryption + "\" is not none or wireguard");
    }
    if (strict && encryption.equals("none")) {
      throw new LabException("--encryption-strict needs --encryption wireguard");
    }
    installation.check();
    String imageVersion = null;
    if (Containers.PODMAN.equals(runtime)) {
      imageVersion = Containers.version();
      Containers.check(imageVersion);
    }
    try (FileLock lock = dir.lock(spec.name())) {
      var existing = dir.load(spec.name());
      if (existing.isPresent() && "up".equals(existing.get().status) && running(existing.get())) {
        progress.accept("lab " + spec.name() + " is already up");
        return existing.get();
      }
      if (existing.isPresent()) {
        throw new LabException(
            "lab "
                + spec.name()
                + " exists but is "
                + (existing.get().status.equals("up") ? "not running" : existing.get().status)
                + ": remove it first with porin lab down --name "
                + spec.name());
      }
      LabState s = new LabState();
      s.name = spec.name();
      s.clusterId = spec.clusterId();
      s.podCidr = spec.podCidr();
      s.podCidr6 = spec.podCidr6();
      s.encryption = encryption;
      s.encryptionStrict = strict;
      s.insecure = insecure;
      s.certValidity = certValidity.toString();
      s.agentCapabilities = agentCapabilities;
      s.runtime = runtime;
      s.imageVersion = imageVersion;
      s.status = "starting";
      dir.save(s);
      try {
        bringUp(spec, s);
        s.status = "up";
        dir.save(s);
        return s;
      } catch (RuntimeException e) {
        s.status = "failed";
        s.detail = e.getMessage();
        dir.save(s);
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void bringUp(LabSpec spec, LabState s) {
    Path home = dir.of(spec.name());
    int steps = 4;
    progress.accept(
        "[1/"
            + steps
            + "] control plane namespace "
            + spec.cpNetns()
            + ": underlay bridge "
            + BRIDGE
            + " "
            + spec.cpAddress4()
            + "/24, "
            + spec.cpAddress6()
            + "/64");
    LabState.Member cp = new LabState.Member();
    cp.name = "control-plane";
    cp.netns = spec.cpNetns();
    cp.address4 = spec.cpAddress4();
    cp.address6 = spec.cpAddress6();
    s.controlPlane = cp;
    createNetns(s, cp.netns);
    ipIn(cp.netns, "link", "add", BRIDGE, "type", "bridge");
    ipIn(cp.netns, "addr", "add", cp.address4 + "/24", "dev", BRIDGE);
    ipIn(cp.netns, "-6", "addr", "add", cp.address6 + "/64", "dev", BRIDGE, "nodad");
    ipIn(cp.netns, "link", "set", BRIDGE, "up");

    progress.accept(
        "[2/"
            + steps
            + "] etcd on "
            + cp.address4
            + ":"
            + ETCD_PORT
            + " (data in "
            + home
            + "/etcd)");
    List<PeerIdentity> services =
        List.of("identity", "ipam", "policy", "relay", "dns").stream()
            .map(PeerIdentity::service)
            .toList();
    if (!s.insecure) {
      LabPki pki = LabPki.of(home, spec.name(), certValidity(s));
      List<String> cpAddresses = List.of(cp.address4, cp.address6);
      // etcd does not renew its own certificate (in a cluster cert-manager does, and etcd reads
      // it again per connection): a lab gives it a long one
      LabPki.of(home, spec.name(), ADMIN_VALIDITY).issue(KvStore.ETCD_IDENTITY, cpAddresses);
      // the lab's operator: a user's certificate, longer-lived than the components' (which renew)
      LabPki.of(home, spec.name(), ADMIN_VALIDITY).issue(LabPki.admin(spec.name()), List.of());
      for (PeerIdentity svc : services) {
        pki.issue(svc, cpAddresses);
      }
    }
    startEtcd(s);
    awaitHttp(s, "etcd", cp.netns, "http://127.0.0.1:" + ETCD_METRICS_PORT + "/health", 30);
    if (!s.insecure) {
      for (List<String> cmd : LabPki.etcdAccess(spec.name(), services)) {
        etcdctl(s, cmd, true);
      }
    }

    progress.accept(
        "[3/"
            + steps
            + "] identity :"
            + IDENTITY_PORT
            + " (cluster ID "
            + spec.clusterId()
            + "), IPAM :"
            + IPAM_PORT
            + " (pods "
            + spec.podCidr()
            + ", "
            + spec.podCidr6()
            + "), policy :"
            + POLICY_PORT
            + ", relay :"
            + RELAY_PORT);
    for (String service : CONTROL_PLANE_SERVICES) {
      startControlPlaneService(s, service);
    }
    for (var svc :
        Map.of(
                "identity", IDENTITY_PORT,
                "ipam", IPAM_PORT,
                "policy", POLICY_PORT,
                "relay", RELAY_PORT)
            .entrySet()) {
      awaitHttp(s, svc.getKey(), cp.netns, health(s, svc.getValue()), 120);
    }

    progress.accept(
        "[4/"
            + steps
            + "] "
            + spec.nodes()
            + " nodes on the underlay, each with its agent (native routing between pod CIDRs)");
    for (int i = 1; i <= spec.nodes(); i++) {
      createNode(spec, s, i);
    }
    for (LabState.Member n : s.nodes) {
      awaitHttp(s, "agent/" + n.name, n.netns, health(s, AGENT_PORT), 120);
      progress.accept("      " + n.name + "  agent ready");
    }
    routeUnderlay(s);
    // last: its JVM's start would compete with the agents' for the CPU
    startCommandServer(s);
  }

  /** Node i: its namespace on the underlay bridge, its state directory and cgroup, its agent. */
  private LabState.Member createNode(LabSpec spec, LabState s, int i) {
    Path home = dir.of(spec.name());
    LabState.Member cp = s.controlPlane;
    LabState.Member n = new LabState.Member();
    n.name = spec.nodeName(i);
    n.netns = spec.nodeName(i);
    n.address4 = spec.nodeAddress4(i);
    n.address6 = spec.nodeAddress6(i);
    n.pinDir = "/sys/fs/bpf/porin/" + n.name;
    n.cniSocket = home.resolve("node" + i + "/cni.sock").toString();
    s.nodes.add(n);
    createNetns(s, n.netns);
    String port = "node" + i;
    ipIn(cp.netns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", n.netns);
    ipIn(cp.netns, "link", "set", port, "master", BRIDGE, "up");
    ipIn(n.netns, "addr", "add", n.address4 + "/24", "dev", "eth0");
    ipIn(n.netns, "-6", "addr", "add", n.address6 + "/64", "dev", "eth0", "nodad");
    ipIn(n.netns, "link", "set", "eth0", "up");
    Path nodeDir = home.resolve("node" + i);
    try {
      Files.createDirectories(nodeDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Cgroups.create(Cgroups.node(s.name, n.name));
    if (!s.insecure) {
      PeerIdentity id = PeerIdentity.node(n.name);
      LabPki.of(home, s.name, certValidity(s)).issue(id, List.of(n.address4, n.address6));
      for (List<String> cmd : io.porin.kvstore.EtcdAccess.etcdctlAdmit(id)) {
        etcdctl(s, cmd, true);
      }
    }
    startAgent(s, n, nodeDir, cp);
    progress.accept(
        "      "
            + n.name
            + "  "
            + n.address4
            + "  "
            + n.address6
            + "  agent starting"
            + (s.encryption.equals("none") ? "" : " (encryption: " + s.encryption + ")"));
    return n;
  }

  /**
   * Adds a node to a running lab (the next number): on the underlay, its agent up and ready, the
   * underlay taught its pod CIDRs. Returns its name.
   */
  public String addNode(String lab) {
    try (FileLock lock = dir.lock(lab)) {
      LabState s =
          dir.load(lab).orElseThrow(() -> new LabException("there is no lab named " + lab));
      if (!"up".equals(s.status) || !running(s)) {
        throw new LabException("lab " + lab + " is not up");
      }
      int i = s.nodes.size() + 1;
      if (i > LabSpec.MAX_NODES) {
        throw new LabException(
            "lab " + lab + " has " + s.nodes.size() + " nodes, the most a lab can have");
      }
      LabSpec spec = new LabSpec(s.name, i, s.clusterId, s.podCidr, s.podCidr6);
      progress.accept("adding node " + spec.nodeName(i));
      LabState.Member n = createNode(spec, s, i);
      dir.save(s);
      awaitHttp(s, "agent/" + n.name, n.netns, health(s, AGENT_PORT), 120);
      progress.accept("      " + n.name + "  agent ready");
      routeUnderlay(s);
      for (String peer : s.links) {
        // the linked labs' underlays, as the other nodes have them
        dir.load(peer).ifPresent(p -> LabMesh.routeNode(s, n, p));
      }
      dir.save(s);
      return n.name;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Teaches the underlay (the control plane's namespace, which holds the bridge) where each node's
   * pod CIDRs are, as a cloud's route table does for native routing: then a pod's traffic to a
   * non-cluster address there (the "world" of a lab) finds its way back. The CIDRs are the ones
   * each agent published in etcd.
   */
  public void routeUnderlay(LabState s) {
    Host.Result r =
        etcdctl(s, List.of("get", "--prefix", "--print-value-only", "/porin/v1/nodes/"), false);
    if (!r.ok()) {
      throw new LabException("reading the nodes from etcd: " + r.output().strip());
    }
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    for (String line : r.output().split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      try {
        var n = json.readTree(line);
        LabState.Member m = s.node(n.path("name").asText());
        if (m == null) {
          continue;
        }
        for (var c : n.path("ipv4Cidrs")) {
          ipIn(s.controlPlane.netns, "route", "replace", c.asText(), "via", m.address4);
        }
        for (var c : n.path("ipv6Cidrs")) {
          ipIn(s.controlPlane.netns, "-6", "route", "replace", c.asText(), "via", m.address6);
        }
      } catch (IOException e) {
        throw new LabException("etcd holds a node that is not JSON: " + line);
      }
    }
  }

  /**
   * Stops a node's agent (SIGTERM, or SIGKILL as a crash would) and starts it again; its endpoints
   * keep their programs and maps meanwhile, as on a real node.
   */
  public void restartAgent(String lab, String node, boolean kill) {
    try (FileLock lock = dir.lock(lab)) {
      LabState s =
          dir.load(lab).orElseThrow(() -> new LabException("there is no lab named " + lab));
      LabState.Member n = s.node(node);
      if (n == null) {
        throw new LabException(
            "node \""
                + node
                + "\" is not in lab "
                + lab
                + " ("
                + String.join(", ", s.nodes.stream().map(m -> m.name).toList())
                + ")");
      }
      LabState.Proc p = s.processes.get("agent/" + node);
      if (p != null && p.alive()) {
        if (kill) {
          crash(s, "agent/" + node, p);
        }
        Host.stop(List.of(p.pid), 15);
        progress.accept("agent on " + node + " stopped" + (kill ? " (SIGKILL)" : ""));
      }
      Path nodeDir = dir.of(lab).resolve("node" + (s.nodes.indexOf(n) + 1));
      startAgent(s, n, nodeDir, s.controlPlane);
      awaitHttp(s, "agent/" + node, n.netns, health(s, AGENT_PORT), 120);
      progress.accept("agent on " + node + " ready");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The lab's cluster DNS: kube-system, the coredns pod and the kube-dns service. */
  public static String clusterDnsManifest() {
    try (var in = Lab.class.getResourceAsStream("cluster-dns.yaml")) {
      if (in == null) {
        throw new LabException("cluster-dns.yaml is not on the classpath");
      }
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The resolv.conf a pod of {@code namespace} gets (as the kubelet writes it): the cluster DNS,
   * the namespace's search path, ndots 5.
   */
  public Path resolvConf(String lab, String namespace) {
    Path file = dir.of(lab).resolve("resolv/" + namespace + ".conf");
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(
          file,
          "# written by porin lab for pods of namespace "
              + namespace
              + "\nsearch "
              + namespace
              + ".svc.cluster.local svc.cluster.local cluster.local\nnameserver "
              + CLUSTER_DNS_IP
              + "\noptions ndots:5\n");
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The control plane's services, in the order they start. */
  static final List<String> CONTROL_PLANE_SERVICES = List.of("identity", "ipam", "policy", "relay");

  /** etcd's command line (TLS flags unless the lab is insecure). */
  private List<String> etcdArgv(LabState s) {
    Path home = dir.of(s.name);
    String scheme = s.insecure ? "http" : "https";
    String etcdUrl = etcdUrl(s);
    String peer = scheme + "://127.0.0.1:2380";
    List<String> argv =
        new ArrayList<>(
            List.of(
                "etcd",
                "--name",
                s.name,
                "--data-dir",
                home.resolve("etcd").toString(),
                "--listen-client-urls",
                scheme + "://127.0.0.1:" + ETCD_PORT + "," + etcdUrl,
                "--advertise-client-urls",
                etcdUrl,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                s.name + "=" + peer,
                // health without a certificate, on the control plane's loopback only
                "--listen-metrics-urls",
                "http://127.0.0.1:" + ETCD_METRICS_PORT,
                "--unsafe-no-fsync"));
    if (!s.insecure) {
      argv.addAll(LabPki.etcdFlags(home));
    }
    return argv;
  }

  /** Starts one of the control plane's services (also used to restart it). */
  private void startControlPlaneService(LabState s, String service) {
    List<String> common =
        List.of(
            "-Dporin.etcd.endpoints=" + etcdUrl(s),
            "-Dquarkus.http.host=0.0.0.0",
            "-Dporin-lab.dir=" + dir.of(s.name));
    List<String> own =
        switch (service) {
          case "identity" -> List.of("-Dporin.identity.cluster-id=" + s.clusterId);
          case "ipam" ->
              List.of(
                  "-Dporin.ipam.cluster-pool-ipv4-pod-cidr-list=" + s.podCidr,
                  "-Dporin.ipam.cluster-pool-ipv6-pod-cidr-list=" + s.podCidr6);
          case "policy" ->
              List.of(
                  "-Dporin.policy.cluster-id=" + s.clusterId,
                  // the lab's name is its cluster's name (io.cilium.k8s.policy.cluster)
                  "-Dporin.cluster.name=" + s.name);
          default -> List.of();
        };
    startService(s, service, s.controlPlane.netns, common, own);
  }

  private static int portOf(String service) {
    return switch (service) {
      case "identity" -> IDENTITY_PORT;
      case "ipam" -> IPAM_PORT;
      case "policy" -> POLICY_PORT;
      case "relay" -> RELAY_PORT;
      default -> throw new IllegalArgumentException(service);
    };
  }

  /**
   * Stops one part of the control plane (etcd or a service; SIGTERM, or SIGKILL as a crash) and
   * starts it again, waiting until it is ready; how long it was away is reported.
   */
  public void restartControlPlane(String lab, String component, boolean kill) {
    if (!component.equals("etcd")
        && !component.equals("clustermesh")
        && !component.equals("cli")
        && !CONTROL_PLANE_SERVICES.contains(component)) {
      throw new LabException(
          "\""
              + component
              + "\" is neither a node nor one of etcd, cli, "
              + String.join(", ", CONTROL_PLANE_SERVICES));
    }
    try (FileLock lock = dir.lock(lab)) {
      LabState s =
          dir.load(lab).orElseThrow(() -> new LabException("there is no lab named " + lab));
      LabState.Proc p = s.processes.get(component);
      if (p != null && p.alive()) {
        if (kill) {
          crash(s, component, p);
        }
        Host.stop(List.of(p.pid), 15);
        progress.accept(component + " stopped" + (kill ? " (SIGKILL)" : ""));
      }
      if (component.equals("etcd")) {
        startEtcd(s);
        awaitHttp(
            s,
            "etcd",
            s.controlPlane.netns,
            "http://127.0.0.1:" + ETCD_METRICS_PORT + "/health",
            30);
      } else if (component.equals("clustermesh")) {
        if (!s.clustermesh) {
          throw new LabException(
              "lab " + lab + " runs no clustermesh service (porin clustermesh enable)");
        }
        new LabMesh(this).start(s);
      } else if (component.equals("cli")) {
        startCommandServer(s);
        awaitSocket(commandSocket(lab), 30);
      } else {
        startControlPlaneService(s, component);
        awaitHttp(s, component, s.controlPlane.netns, health(s, portOf(component)), 120);
      }
      progress.accept(component + " ready");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts one node's agent (also used to restart it). */
  public void startAgent(LabState s, LabState.Member n, Path nodeDir, LabState.Member cp) {
    Path cgroup = Cgroups.node(s.name, n.name);
    List<String> options = new ArrayList<>(AGENT_JVM);
    options.addAll(
        List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-Dporin.agent.node-name=" + n.name,
            "-Dporin.cluster.name=" + s.name,
            "-Dporin.cluster.id=" + s.clusterId,
            "-Dporin.agent.node-addresses=" + n.address4 + "," + n.address6,
            "-Dporin.agent.state-dir=" + nodeDir.resolve("state"),
            "-Dporin.agent.pin-dir=" + n.pinDir,
            "-Dporin.agent.cni-socket=" + n.cniSocket,
            "-Dporin.agent.cni-conf-dir=" + nodeDir.resolve("net.d"),
            "-Dporin.agent.socket-lb-cgroup="
                + (s.inContainers() ? Containers.agentCgroup(cgroup) : cgroup),
            "-Dporin.agent.encryption=" + s.encryption,
            "-Dporin.agent.encryption-strict=" + s.encryptionStrict,
            "-Dporin.agent.identity=" + cp.address4 + ":" + IDENTITY_PORT,
            "-Dporin.agent.ipam=" + cp.address4 + ":" + IPAM_PORT,
            "-Dporin.agent.policy=" + cp.address4 + ":" + POLICY_PORT,
            "-Dporin.etcd.endpoints=" + etcdUrl(s),
            "-Dquarkus.http.host=0.0.0.0"));
    options.addAll(tlsSettings(s, PeerIdentity.node(n.name)));
    String marker = "-Dporin.agent.state-dir=" + nodeDir.resolve("state");
    if (s.inContainers()) {
      options.add("-Dporin.agent.proc-sys=/host/proc/sys");
      List<String> caps =
          s.agentCapabilities != null ? s.agentCapabilities : Containers.AGENT_CAPABILITIES;
      launch(
          s,
          "agent/" + n.name,
          Containers.run(
              s,
              dir.of(s.name),
              "agent/" + n.name,
              n.netns,
              "node-agent",
              options,
              List.of(),
              caps),
          marker);
      return;
    }
    List<String> argv = new ArrayList<>(List.of(installation.java().toString()));
    argv.addAll(options);
    argv.addAll(List.of("-jar", installation.agentJar().toString()));
    if (s.agentCapabilities != null) {
      // as a container runtime would: root, with these capabilities and no others
      List<String> bounded =
          new ArrayList<>(
              List.of(
                  "setpriv",
                  "--bounding-set",
                  "-all"
                      + s.agentCapabilities.stream()
                          .map(c -> ",+" + c)
                          .collect(java.util.stream.Collectors.joining()),
                  "--inh-caps",
                  "-all",
                  "--"));
      bounded.addAll(argv);
      argv = bounded;
    }
    start(s, "agent/" + n.name, n.netns, argv, marker);
  }

  void startService(
      LabState s, String service, String netns, List<String> common, List<String> own) {
    List<String> argv = new ArrayList<>();
    argv.addAll(SERVICE_JVM);
    argv.addAll(common);
    argv.addAll(own);
    // a setting of its own (e.g. the clustermesh service's CA bundle) wins over the lab's
    java.util.Set<String> ownKeys = new java.util.HashSet<>();
    own.forEach(o -> ownKeys.add(o.substring(0, Math.max(0, o.indexOf('=')))));
    tlsSettings(s, PeerIdentity.service(service)).stream()
        .filter(t -> !ownKeys.contains(t.substring(0, Math.max(0, t.indexOf('=')))))
        .forEach(argv::add);
    String marker = "-Dporin-lab.dir=" + dir.of(s.name);
    if (s.inContainers()) {
      launch(
          s,
          service,
          Containers.run(s, dir.of(s.name), service, netns, service, argv, List.of(), null),
          marker);
      return;
    }
    argv.addFirst(installation.java().toString());
    argv.addAll(List.of("-jar", installation.serviceJar(service).toString()));
    start(s, service, netns, argv, marker);
  }

  /**
   * Where the lab's command server listens: {@code /run/porin/cli/<lab>.sock}. Not in the lab's
   * state directory, which the lab's containers mount: a directory only root may enter, which no
   * container mounts (lab names are unique on a machine, as their namespaces are).
   */
  public static Path commandSocket(String lab) {
    return COMMAND_SOCKETS.resolve(lab + ".sock");
  }

  /** The directory of every lab's command socket. */
  public static final Path COMMAND_SOCKETS = Path.of("/run/porin/cli");

  private static void awaitSocket(Path socket, int seconds) {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (!Files.exists(socket)) {
      if (System.nanoTime() > deadline) {
        throw new LabException(socket + " did not appear in " + seconds + " s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new LabException("interrupted");
      }
    }
  }

  /** The command server's JVM: long-lived (the JIT's top tier on), small. */
  private static final List<String> COMMAND_SERVER_JVM =
      List.of(
          "-Xms16m",
          "-Xmx160m",
          "-XX:MaxNewSize=24m",
          "-XX:+UseSerialGC",
          "-XX:TrimNativeHeapInterval=5000",
          "--enable-native-access=ALL-UNNAMED",
          "--sun-misc-unsafe-memory-access=allow");

  /**
   * Starts the lab's command server (the CLI's {@code io.porin.cli.server.CommandServer}) in the
   * control plane's namespace: {@code porin} clients hand it the read-only commands users repeat,
   * which it answers warm. A process in every runtime (it is the user's tool, not a component a
   * cluster runs). Without the CLI's jar (a lab driven from elsewhere) there is none, and every
   * {@code porin} runs in a JVM of its own.
   */
  private void startCommandServer(LabState s) {
    Path jar = installation.cliJar();
    if (!Files.exists(jar)) {
      return;
    }
    Path socket = commandSocket(s.name);
    try {
      Files.createDirectories(COMMAND_SOCKETS);
      Files.setPosixFilePermissions(
          COMMAND_SOCKETS, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> argv = new ArrayList<>();
    argv.add(installation.java().toString());
    argv.addAll(COMMAND_SERVER_JVM);
    argv.addAll(
        List.of(
            "-cp",
            jar.toString(),
            "io.porin.cli.server.CommandServer",
            "--socket",
            socket.toString(),
            "--netns",
            s.controlPlane.netns));
    start(s, "cli", s.controlPlane.netns, argv, socket.toString());
  }

  /** Starts etcd in the control plane's namespace (also used to restart it). */
  private void startEtcd(LabState s) {
    List<String> argv = etcdArgv(s);
    String marker = dir.of(s.name).resolve("etcd").toString();
    if (s.inContainers()) {
      launch(
          s,
          "etcd",
          Containers.run(
              s,
              dir.of(s.name),
              "etcd",
              s.controlPlane.netns,
              "etcd",
              null,
              argv.subList(1, argv.size()),
              null),
          marker);
    } else {
      start(s, "etcd", s.controlPlane.netns, argv, marker);
    }
  }

  /** Kills a component as a crash would (its container, in a podman lab). */
  private static void crash(LabState s, String role, LabState.Proc p) {
    if (s.inContainers()) {
      Containers.kill(s.name, role);
    }
    ProcessHandle.of(p.pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  /** Starts a process in a namespace and records it (the state is saved at once). */
  private void start(LabState s, String role, String netns, List<String> argv, String marker) {
    launch(s, role, Host.inNetns(netns, argv), marker);
  }

  /**
   * Starts a command (a process entered into its namespace, or podman's attached run of a
   * container) and records it with its log (the state is saved at once).
   */
  private void launch(LabState s, String role, List<String> command, String marker) {
    Path log = dir.of(s.name).resolve("logs/" + role.replace('/', '-') + ".log");
    try {
      Files.createDirectories(log.getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long pid = Host.spawn(command, log, COMPONENT_ENV);
    s.processes.put(role, new LabState.Proc(pid, marker, log.toString()));
    dir.save(s);
  }

  /** Records, then creates, a namespace (so that a crash in between still gets it removed). */
  private void createNetns(LabState s, String netns) {
    if (Host.netnsExists(netns)) {
      throw new LabException(
          "network namespace "
              + netns
              + " already exists and is not this lab's: remove it or choose another --name");
    }
    s.namespaces.add(netns);
    dir.save(s);
    Host.addNetns(netns);
  }

  static void ipIn(String netns, String... args) {
    List<String> argv = new ArrayList<>(List.of("ip", "-n", netns));
    argv.addAll(List.of(args));
    Host.check(argv.toArray(String[]::new));
  }

  /** How long the lab's components' certificates live. */
  static java.time.Duration certValidity(LabState s) {
    return s.certValidity == null ? CERT_VALIDITY : java.time.Duration.parse(s.certValidity);
  }

  /** etcd's client URL for the lab's components. */
  public static String etcdUrl(LabState s) {
    return (s.insecure ? "http" : "https") + "://" + s.controlPlane.address4 + ":" + ETCD_PORT;
  }

  /** The settings that give component {@code id} its certificate (or say the lab has none). */
  public List<String> tlsSettings(LabState s, PeerIdentity id) {
    return tlsSettings(dir.of(s.name), s, id);
  }

  /** As {@link #tlsSettings(LabState, PeerIdentity)}, for the lab in {@code home}. */
  public static List<String> tlsSettings(Path home, LabState s, PeerIdentity id) {
    if (s.insecure) {
      return List.of("-Dporin.tls.insecure=true");
    }
    List<String> out = new ArrayList<>(LabPki.settings(home, id));
    if (id.equals(PeerIdentity.service("identity"))) {
      // the CA's online part: it renews everyone's certificates, its own included
      out.add("-Dporin.ca.dir=" + home.resolve("ca"));
      out.add("-Dporin.ca.leaf-validity=" + certValidity(s).toSeconds() + "s");
    } else {
      out.add("-Dporin.tls.renew-from=" + s.controlPlane.address4 + ":" + IDENTITY_PORT);
    }
    return out;
  }

  /** A component's readiness URL on its namespace's loopback. */
  static String health(LabState s, int port) {
    return (s.insecure ? "http" : "https") + "://127.0.0.1:" + port + "/q/health/ready";
  }

  /** curl's options to present the lab admin's certificate. */
  private List<String> curlTls(LabState s) {
    if (s.insecure) {
      return List.of();
    }
    Path home = dir.of(s.name);
    String admin = LabPki.bundle(home, LabPki.admin(s.name)).toString();
    return List.of("--cacert", LabPki.caFile(home).toString(), "--cert", admin, "--key", admin);
  }

  /**
   * Runs etcdctl in the control plane's namespace (as the lab's admin when the lab has
   * certificates); with {@code tolerateExisting}, "already exists" counts as done.
   */
  Host.Result etcdctl(LabState s, List<String> args, boolean tolerateExisting) {
    String endpoint = (s.insecure ? "http" : "https") + "://127.0.0.1:" + ETCD_PORT;
    List<String> argv =
        new ArrayList<>(
            s.insecure
                ? List.of("etcdctl", "--endpoints", endpoint)
                : LabPki.etcdctl(dir.of(s.name), s.name, endpoint));
    argv.addAll(args);
    Host.Result r = Host.run(Host.inNetns(s.controlPlane.netns, argv), Map.of(), null, 30);
    if (tolerateExisting && !r.ok()) {
      if (r.output().contains("already exists") || r.output().contains("already granted")) {
        return r;
      }
      throw new LabException("etcdctl " + String.join(" ", args) + ": " + r.output().strip());
    }
    return r;
  }

  void awaitHttp(LabState s, String role, String netns, String url, int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<String> curl = url.startsWith("https") ? curlTls(s) : List.of();
    while (System.nanoTime() < deadline) {
      if (Host.httpStatus(netns, url, curl).orElse(0) == 200) {
        return;
      }
      LabState.Proc p = s.processes.get(role);
      if (p != null && !Host.alive(p.pid)) {
        throw new LabException(
            role + " exited; the end of its log (" + p.log + "):\n" + tail(p.log));
      }
      Host.sleep(250);
    }
    LabState.Proc p = s.processes.get(role);
    throw new LabException(
        role + " was not ready in " + seconds + " s" + (p == null ? "" : ":\n" + tail(p.log)));
  }

  static String tail(String log) {
    try {
      List<String> lines = Files.readAllLines(Path.of(log));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** Whether every process the lab recorded is still running. */
  public static boolean running(LabState s) {
    return !s.processes.isEmpty() && s.processes.values().stream().allMatch(LabState.Proc::alive);
  }

  /**
   * Removes everything a lab made: its processes (the recorded PIDs, and anything else still
   * running in its namespaces), its pods' and nodes' namespaces and links, the agents' bpffs pins
   * and its state directory. Works on a lab that crashed or never finished coming up.
   *
   * @return false when there was no lab of that name
   */
  public boolean down(String name) {
    new LabSpec(name, 1, 1, "10.200.0.0/16", null); // validates the name
    if (!Files.exists(dir.stateFile(name))) {
      return false;
    }
    try (FileLock lock = dir.lock(name)) {
      LabState s = dir.load(name).orElseThrow();
      List<String> netns = new ArrayList<>();
      s.pods.values().forEach(p -> netns.add(p.netns));
      List<String> recorded = new ArrayList<>(s.namespaces);
      java.util.Collections.reverse(recorded);
      for (String n : recorded) {
        if (!netns.contains(n)) {
          netns.add(n);
        }
      }
      Set<Long> pids = new LinkedHashSet<>();
      // Pods first, then agents, then the control plane: the reverse of how they came up.
      s.processes.entrySet().stream()
          .sorted(Comparator.comparingInt(e -> stopOrder(e.getKey())))
          .filter(e -> e.getValue().alive())
          .forEach(e -> pids.add(e.getValue().pid));
      pids.addAll(processesIn(netns));
      if (!pids.isEmpty()) {
        progress.accept("stopping " + pids.size() + " processes");
        List<Long> killed = Host.stop(new ArrayList<>(pids), 15);
        if (!killed.isEmpty()) {
          progress.accept("  needed SIGKILL: " + killed);
        }
      }
      if (s.inContainers()) {
        int removed = Containers.removeAll(name);
        if (removed > 0) {
          progress.accept("removed " + removed + " containers");
        }
      }
      Path cgroup = Cgroups.lab(name);
      List<Long> left = Cgroups.processes(cgroup);
      if (!left.isEmpty()) {
        Host.stop(left, 5);
      }
      if (Files.isDirectory(cgroup)) {
        Cgroups.remove(cgroup);
        progress.accept("removed cgroup " + cgroup);
      }
      for (String n : netns) {
        if (Host.netnsExists(n)) {
          Host.deleteNetns(n);
          progress.accept("removed network namespace " + n);
        }
      }
      for (LabState.Member node : s.nodes) {
        Path pins = Path.of(node.pinDir);
        if (Files.exists(pins)) {
          deleteTree(pins);
          progress.accept("removed bpffs pins " + pins);
        }
      }
      if (Files.deleteIfExists(commandSocket(name))) {
        progress.accept("removed " + commandSocket(name));
      }
      deleteTree(dir.of(name));
      progress.accept("removed " + dir.of(name));
      return true;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int stopOrder(String role) {
    if (role.startsWith("pod/")) {
      return 0;
    }
    if (role.startsWith("agent/")) {
      return 1;
    }
    return role.equals("etcd") ? 3 : 2;
  }

  /** Processes whose network namespace is one of these (what a crash may have left running). */
  static List<Long> processesIn(List<String> netns) {
    Set<Long> inodes = new java.util.HashSet<>();
    for (String n : netns) {
      OptionalLong ino = Host.netnsInode(n);
      ino.ifPresent(inodes::add);
    }
    if (inodes.isEmpty()) {
      return List.of();
    }
    long self = ProcessHandle.current().pid();
    return Host.allPids().stream()
        .filter(pid -> pid != self)
        .filter(pid -> Host.netnsInodeOf(pid).stream().anyMatch(inodes::contains))
        .toList();
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new LabException("cannot remove " + root + ": " + e.getMessage());
    }
  }
}
