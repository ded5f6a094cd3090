package io.porin.agent.testing;

import io.porin.agent.bpf.Bpffs;
import io.porin.kvstore.testing.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A one-node Porin cluster in a network namespace this test creates: etcd, the identity, IPAM and
 * policy services and the node agent all run inside it (through {@code nsenter --net=}, which keeps
 * bpffs visible), so nothing touches the root namespace's links, routes or ports. As in a cluster,
 * everything speaks mutual TLS with certificates of the run's test CA, and etcd has its roles. Pods
 * are further namespaces wired by the real porin-cni. Everything is removed by name on close, also
 * after a failure.
 */
public final class NetnsCluster implements AutoCloseable {
  public static final Path MODULE = Path.of("").toAbsolutePath();
  public static final Path REPO = MODULE.getParent().getParent();
  private static final String JAVA =
      Path.of(System.getProperty("java.home"), "bin", "java").toString();

  public final String name;
  public final String nodeNetns;
  public final Path work;
  public final Path pins;
  public final Path cniSocket;
  private final Map<String, Process> processes = new LinkedHashMap<>();
  private final java.util.Set<String> infrastructure = new java.util.HashSet<>();
  private final List<String> podNamespaces = new ArrayList<>();

  /** What a command printed and its exit code. */
  public record Result(int exitCode, String output) {}

  public NetnsCluster(String tag) throws IOException {
    long pid = ProcessHandle.current().pid();
    name = "porin-t" + tag + pid;
    nodeNetns = name + "-node";
    work = MODULE.resolve("target/" + name);
    pins = Bpffs.ROOT.resolve("porin-test-" + name);
    cniSocket = work.resolve("cni.sock");
    Files.createDirectories(work);
  }

  public static String netnsPath(String netns) {
    return "/var/run/netns/" + netns;
  }

  /** Creates the node namespace and starts etcd, the services and the agent in it. */
  public NetnsCluster start() throws Exception {
    run(List.of("ip", "netns", "add", nodeNetns));
    run(List.of("ip", "-n", nodeNetns, "link", "set", "lo", "up"));
    Path etcdData = work.resolve("etcd");
    Path etcdCert = PKI.bundle(io.porin.kvstore.KvStore.ETCD_IDENTITY);
    start(
        "etcd",
        List.of(
            "etcd",
            "--name",
            name,
            "--data-dir",
            etcdData.toString(),
            "--listen-client-urls",
            "https://127.0.0.1:2379",
            "--advertise-client-urls",
            "https://127.0.0.1:2379",
            "--listen-peer-urls",
            "http://127.0.0.1:2380",
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:2380",
            "--initial-cluster",
            name + "=http://127.0.0.1:2380",
            "--listen-metrics-urls",
            "http://127.0.0.1:2381",
            "--client-cert-auth",
            "--trusted-ca-file",
            PKI.caFile().toString(),
            "--cert-file",
            etcdCert.toString(),
            "--key-file",
            etcdCert.toString(),
            "--unsafe-no-fsync"));
    awaitHttp(2381, "/health");
    List<io.porin.tls.PeerIdentity> admitted =
        List.of(
            io.porin.tls.PeerIdentity.service("identity"),
            io.porin.tls.PeerIdentity.service("ipam"),
            io.porin.tls.PeerIdentity.service("policy"),
            io.porin.tls.PeerIdentity.node(name));
    List<List<String>> access =
        new ArrayList<>(io.porin.kvstore.EtcdAccess.etcdctlAdmit(TestPki.ADMIN));
    for (var id : admitted) {
      access.addAll(io.porin.kvstore.EtcdAccess.etcdctlAdmit(id));
    }
    access.addAll(io.porin.kvstore.EtcdAccess.etcdctlEnable());
    Path admin = PKI.bundle(TestPki.ADMIN);
    for (List<String> a : access) {
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  "etcdctl",
                  "--endpoints",
                  "https://127.0.0.1:2379",
                  "--cacert",
                  PKI.caFile().toString(),
                  "--cert",
                  admin.toString(),
                  "--key",
                  admin.toString()));
      cmd.addAll(a);
      Result r = inNode(cmd.toArray(String[]::new));
      if (r.exitCode() != 0 && !r.output().contains("already")) {
        throw new IllegalStateException("etcdctl " + a + ": " + r.output());
      }
    }
    // the CLI's context: the services on their default ports, the test's admin certificate
    Files.writeString(
        work.resolve("porin-config"),
        "current-context: t\ncontexts:\n  t:\n    ca: "
            + PKI.caFile()
            + "\n    cert: "
            + admin
            + "\n");
    startService("identity", 9401);
    startService("ipam", 9402);
    startService("policy", 9403);
    startAgent();
    return this;
  }

  /** Stops one of the processes (SIGTERM). */
  public void stop(String what) throws InterruptedException {
    Process p = processes.remove(what);
    infrastructure.remove(what);
    if (p != null) {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  /** Starts a control-plane service (identity 9401, ipam 9402, policy 9403) and waits for it. */
  public void startService(String service, int port) throws Exception {
    Path jar = REPO.resolve("services/" + service + "/target/quarkus-app/quarkus-run.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException(jar + " is missing: package the services first");
    }
    List<String> argv = new ArrayList<>(List.of(JAVA, "-Xmx256m", "-XX:TieredStopAtLevel=1"));
    argv.addAll(tls(io.porin.tls.PeerIdentity.service(service)));
    argv.addAll(List.of("-jar", jar.toString()));
    start(service, argv);
    awaitHttp(port, "/q/health/ready");
  }

  public void startAgent() throws Exception {
    Path jar = MODULE.resolve("target/quarkus-app/quarkus-run.jar");
    start(
        "agent",
        List.of(
            JAVA,
            "-Xmx384m",
            "--enable-native-access=ALL-UNNAMED",
            "-Dporin.agent.node-name=" + name,
            "-Dporin.agent.state-dir=" + work.resolve("state"),
            "-Dporin.agent.pin-dir=" + pins,
            "-Dporin.agent.cni-socket=" + cniSocket,
            "-Dporin.agent.cni-conf-dir=" + work.resolve("net.d"),
            "-Dporin.agent.policy-wait=5s",
            "-Dporin.agent.cni-read-timeout=2s",
            "-Dporin.tls.ca=" + PKI.caFile(),
            "-Dporin.tls.cert=" + PKI.bundle(io.porin.tls.PeerIdentity.node(name)),
            "-Dporin.etcd.endpoints=https://127.0.0.1:2379",
            "-jar",
            jar.toString()));
    awaitHttp(9404, "/q/health/ready");
  }

  /** Stops the agent: SIGTERM (orderly), or SIGKILL. */
  public void stopAgent(boolean kill) throws InterruptedException {
    infrastructure.remove("agent");
    Process p = processes.remove("agent");
    if (p != null) {
      if (kill) {
        p.destroyForcibly();
      } else {
        p.destroy();
      }
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  private void start(String what, List<String> argv) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(nodeNetns)));
    cmd.addAll(argv);
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log(what).toFile()))
            .start();
    processes.put(what, p);
    infrastructure.add(what);
  }

  public Path log(String what) {
    return work.resolve(what + ".log");
  }

  /** The run's test CA: every process of this cluster has a certificate of it. */
  static final TestPki PKI = TestPki.cluster();

  /** The settings that make a service {@code id} of this cluster (etcd over mutual TLS). */
  private static List<String> tls(io.porin.tls.PeerIdentity id) {
    return List.of(
        "-Dporin.tls.ca=" + PKI.caFile(),
        "-Dporin.tls.cert=" + PKI.bundle(id),
        "-Dporin.etcd.endpoints=https://127.0.0.1:2379");
  }

  private void awaitHttp(int port, String path) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    String admin = PKI.bundle(TestPki.ADMIN).toString();
    while (System.nanoTime() < deadline) {
      Result r =
          port == 2381
              ? inNode(
                  "curl",
                  "-s",
                  "-o",
                  "/dev/null",
                  "-w",
                  "%{http_code}",
                  "--max-time",
                  "2",
                  "http://127.0.0.1:" + port + path)
              : inNode(
                  "curl",
                  "-s",
                  "-o",
                  "/dev/null",
                  "-w",
                  "%{http_code}",
                  "--max-time",
                  "2",
                  "--cacert",
                  PKI.caFile().toString(),
                  "--cert",
                  admin,
                  "--key",
                  admin,
                  "https://127.0.0.1:" + port + path);
      if (r.output().trim().equals("200")) {
        return;
      }
      for (Map.Entry<String, Process> e : processes.entrySet()) {
        if (infrastructure.contains(e.getKey()) && !e.getValue().isAlive()) {
          throw new IllegalStateException(e.getKey() + " exited:\n" + tail(e.getKey()));
        }
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("port " + port + " not ready:\n" + tail("agent"));
  }

  /** The body of GET {@code path} on a component's port in the node, as the test's admin. */
  public String https(int port, String path) {
    String admin = PKI.bundle(TestPki.ADMIN).toString();
    return inNode(
            "curl",
            "-s",
            "--max-time",
            "2",
            "--cacert",
            PKI.caFile().toString(),
            "--cert",
            admin,
            "--key",
            admin,
            "https://127.0.0.1:" + port + path)
        .output();
  }

  public String tail(String what) {
    try {
      List<String> lines = Files.readAllLines(log(what));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** A command inside the node namespace. */
  public Result inNode(String... argv) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(nodeNetns)));
    cmd.addAll(List.of(argv));
    return run(cmd);
  }

  /** A command inside a pod's namespace. */
  public Result inPod(String pod, String... argv) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(pod)));
    cmd.addAll(List.of(argv));
    return run(cmd);
  }

  /** Starts a long-running command inside a pod's namespace (killed on close). */
  public Process startInPod(String pod, String what, String... argv) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(pod)));
    cmd.addAll(List.of(argv));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log(what).toFile()))
            .start();
    processes.put(what, p);
    return p;
  }

  /** The porin CLI inside the node namespace (every service on its default port there). */
  public Result cli(String... args) {
    Path jar = REPO.resolve("cli/target/porin-cli.jar");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "nsenter",
                "--net=" + netnsPath(nodeNetns),
                JAVA,
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                "-jar",
                jar.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PORIN_CONFIG", work.resolve("porin-config").toString());
    return run(pb);
  }

  /** A new, empty pod namespace. */
  public String podNetns(String pod) {
    String ns = name + "-" + pod;
    run(List.of("ip", "netns", "add", ns));
    podNamespaces.add(ns);
    return ns;
  }

  /** Runs the real porin-cni as a container runtime would. */
  public Result cni(
      String command, String containerId, String netns, String ifname, String args, String config) {
    ProcessBuilder pb =
        new ProcessBuilder(MODULE.resolve("target/bin/porin-cni").toString())
            .redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put("CNI_COMMAND", command);
    if (containerId != null) {
      env.put("CNI_CONTAINERID", containerId);
    }
    if (netns != null) {
      env.put("CNI_NETNS", netns);
    }
    if (ifname != null) {
      env.put("CNI_IFNAME", ifname);
    }
    if (args != null) {
      env.put("CNI_ARGS", args);
    }
    env.put("CNI_PATH", MODULE.resolve("target/bin").toString());
    env.put("PORIN_CNI_SOCKET", cniSocket.toString());
    try {
      Process p = pb.start();
      p.getOutputStream().write(config.getBytes());
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes());
      p.waitFor(60, TimeUnit.SECONDS);
      return new Result(p.exitValue(), out);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Result run(List<String> cmd) {
    return run(new ProcessBuilder(cmd).redirectErrorStream(true));
  }

  private static Result run(ProcessBuilder pb) {
    try {
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, out + "\n(timed out)");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException | InterruptedException e) {
      return new Result(-1, e.toString());
    }
  }

  @Override
  public void close() throws Exception {
    List<String> names = new ArrayList<>(processes.keySet());
    java.util.Collections.reverse(names);
    for (String n : names) {
      Process p = processes.get(n);
      p.destroy();
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
    processes.clear();
    for (String ns : podNamespaces) {
      run(List.of("ip", "netns", "del", ns));
    }
    run(List.of("ip", "netns", "del", nodeNetns));
    Bpffs.removeTree(pins);
  }
}
