package io.porin.agent.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.Bpffs;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.SocketLb;
import io.porin.agent.testing.NetnsCluster;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Socket load balancing in the kernel: the agent's service sync programs the real maps, the socket
 * programs sit on a cgroup of the test's own (under the cgroup v2 hierarchy, never its root), and
 * porin-pod, run inside that cgroup in a namespace of the test's own, connects to service
 * addresses. Backends are porin-pod servers on loopback addresses of that namespace.
 */
@Tag("privileged")
class SocketLbIT {
  private static final Path POD =
      NetnsCluster.REPO.resolve("lab/target/bin/porin-pod").toAbsolutePath();
  private static final String TAG = "porin-slb-" + ProcessHandle.current().pid();
  private static final String NETNS = TAG;
  private static final Path CGROUP_ROOT = cgroup2Root();
  private static final Path CGROUP = CGROUP_ROOT.resolve(TAG);
  private static final Path POD_CGROUP = CGROUP.resolve("pod");
  private static final Path PINS = Bpffs.ROOT.resolve(TAG);
  private static final List<Process> servers = new ArrayList<>();
  private static LinuxDatapath datapath;
  private static ServiceSync sync;

  private static Path cgroup2Root() {
    Path unified = Path.of("/sys/fs/cgroup/unified");
    return Files.exists(unified.resolve("cgroup.procs")) ? unified : Path.of("/sys/fs/cgroup");
  }

  @BeforeAll
  static void up() throws Exception {
    cleanup();
    run("ip", "netns", "add", NETNS);
    run("ip", "-n", NETNS, "link", "set", "lo", "up");
    Files.createDirectories(POD_CGROUP);
    datapath = LinuxDatapath.open(PINS);
    datapath.attachSocketLb(CGROUP);
    sync = new ServiceSync(datapath.loadBalancer(), List.of());
    serve("b1", "--tcp", "8081", "--udp", "5301");
    serve("b2", "--tcp", "8082", "--udp", "5302");
    serve("b3", "--tcp", "8083");
  }

  @AfterAll
  static void down() throws Exception {
    if (Boolean.getBoolean("porin.it.keep")) {
      return;
    }
    for (Process p : servers) {
      p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    if (datapath != null) {
      datapath.close();
    }
    cleanup();
  }

  private static void cleanup() throws IOException, InterruptedException {
    run("ip", "netns", "del", NETNS);
    SocketLb.detach(PINS);
    run("rm", "-rf", PINS.toString());
    if (Files.exists(POD_CGROUP)) {
      for (String pid : Files.readAllLines(POD_CGROUP.resolve("cgroup.procs"))) {
        run("kill", "-9", pid);
      }
      Thread.sleep(100);
      Files.deleteIfExists(POD_CGROUP);
    }
    Files.deleteIfExists(CGROUP);
  }

  private static void serve(String name, String... ports) throws IOException {
    List<String> argv = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + NETNS));
    argv.addAll(List.of(POD.toString(), "serve", name));
    argv.addAll(List.of(ports));
    servers.add(
        new ProcessBuilder(argv)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start());
  }

  /** porin-pod whois, run inside the pod cgroup and the namespace. */
  private static String whois(String proto, String host, int port) throws Exception {
    Process p =
        new ProcessBuilder(
                "sh",
                "-c",
                "echo $$ > \"$0\" && exec nsenter --net=/var/run/netns/\"$1\" \"$2\" whois \"$3\" \"$4\" \"$5\" 2000",
                POD_CGROUP.resolve("cgroup.procs").toString(),
                NETNS,
                POD.toString(),
                proto,
                host,
                Integer.toString(port))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    p.waitFor(10, TimeUnit.SECONDS);
    return out;
  }

  private static String run(String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor(30, TimeUnit.SECONDS);
    return out;
  }

  private static ServiceRecord service(
      String name,
      String vip,
      int port,
      Protocol proto,
      int affinity,
      String algorithm,
      List<ServiceRecord.Backend> backends) {
    return new ServiceRecord(
        "t",
        name,
        "ClusterIP",
        List.of(vip),
        false,
        List.of(new ServiceRecord.Port("p", port, proto, 0)),
        affinity,
        algorithm,
        backends);
  }

  private static ServiceRecord.Backend backend(String pod, String ip, int port, boolean ready) {
    return new ServiceRecord.Backend(
        pod,
        "n",
        List.of(ip),
        ready ? ServiceRecord.State.ACTIVE : ServiceRecord.State.TERMINATING,
        List.of(port));
  }

  private static final List<ServiceRecord.Backend> THREE =
      List.of(
          backend("b1", "127.0.0.11", 8081, true),
          backend("b2", "127.0.0.12", 8082, true),
          backend("b3", "127.0.0.13", 8083, true));

  private static Map<String, Integer> spread(String vip, int port, int n) throws Exception {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String out = whois("tcp", vip, port);
      assertThat(out).as("connect %d", i).startsWith("peer " + vip + " " + port + "\n");
      seen.merge(out.lines().skip(1).findFirst().orElse("?").strip(), 1, Integer::sum);
    }
    return seen;
  }

  @Test
  void aConnectionToAClusterIpReachesABackendAndTheApplicationSeesTheServiceAddress()
      throws Exception {
    sync.reset(List.of(service("web", "10.96.0.50", 80, Protocol.TCP, 0, "random", THREE)));
    Map<String, Integer> seen = spread("10.96.0.50", 80, 24);
    assertThat(seen.keySet()).as("answers").allMatch(s -> s.matches("b[123].*"));
    assertThat(seen).as("random over three backends").hasSizeGreaterThanOrEqualTo(2);
    // outside the cgroup nothing is translated: the address is not there
    assertThat(
            run(
                "nsenter",
                "--net=/var/run/netns/" + NETNS,
                POD.toString(),
                "whois",
                "tcp",
                "10.96.0.50",
                "80",
                "500"))
        .doesNotStartWith("peer");
  }

  @Test
  void sessionAffinityKeepsAClientOnItsBackend() throws Exception {
    sync.reset(List.of(service("sticky", "10.96.0.51", 80, Protocol.TCP, 60, "random", THREE)));
    assertThat(spread("10.96.0.51", 80, 12)).hasSize(1);
  }

  @Test
  void affinityNeverOutlivesTheBackendsMembership() throws Exception {
    sync.reset(List.of(service("sticky", "10.96.0.51", 80, Protocol.TCP, 60, "random", THREE)));
    String stuck = spread("10.96.0.51", 80, 3).keySet().iterator().next();
    List<ServiceRecord.Backend> others =
        THREE.stream().filter(b -> !stuck.startsWith(b.pod())).toList();
    assertThat(others).hasSize(2);
    sync.reset(List.of(service("sticky", "10.96.0.51", 80, Protocol.TCP, 60, "random", others)));
    assertThat(spread("10.96.0.51", 80, 6).keySet()).noneMatch(s -> s.equals(stuck));
  }

  @Test
  void aDualStackSocketReachingIpv4ThroughAMappedAddressIsTranslated() throws Exception {
    sync.reset(List.of(service("web", "10.96.0.50", 80, Protocol.TCP, 0, "random", THREE)));
    assertThat(whois("tcp", "::ffff:10.96.0.50", 80)).startsWith("peer ::ffff:10.96.0.50 80\nb");
  }

  @Test
  void maglevUsesTheTableAndSpreads() throws Exception {
    sync.reset(List.of(service("mag", "10.96.0.52", 80, Protocol.TCP, 0, "maglev", THREE)));
    assertThat(spread("10.96.0.52", 80, 24)).hasSizeGreaterThanOrEqualTo(2);
  }

  @Test
  void terminatingBackendsServeOnlyWhenNoReadyOneIsLeft() throws Exception {
    sync.reset(
        List.of(
            service(
                "term",
                "10.96.0.53",
                80,
                Protocol.TCP,
                0,
                "random",
                List.of(
                    backend("b1", "127.0.0.11", 8081, true),
                    backend("b2", "127.0.0.12", 8082, false)))));
    assertThat(spread("10.96.0.53", 80, 10).keySet()).allMatch(s -> s.startsWith("b1"));
    sync.reset(
        List.of(
            service(
                "term",
                "10.96.0.53",
                80,
                Protocol.TCP,
                0,
                "random",
                List.of(backend("b2", "127.0.0.12", 8082, false)))));
    assertThat(spread("10.96.0.53", 80, 4).keySet()).allMatch(s -> s.startsWith("b2"));
  }

  @Test
  void aServiceWithoutBackendsRefusesAndIsCounted() throws Exception {
    sync.reset(List.of(service("empty", "10.96.0.54", 80, Protocol.TCP, 0, "random", List.of())));
    long before = noServiceDrops();
    assertThat(whois("tcp", "10.96.0.54", 80)).isEqualTo("Connection refused");
    assertThat(noServiceDrops()).isEqualTo(before + 1);
  }

  @Test
  void unconnectedUdpRepliesComeFromTheServiceAddress() throws Exception {
    sync.reset(
        List.of(
            service(
                "dns",
                "10.96.0.55",
                53,
                Protocol.UDP,
                0,
                "random",
                // 127.0.0.1: the echo server answers from it (a pod answers from its own address)
                List.of(backend("b1", "127.0.0.1", 5301, true)))));
    String out = whois("udp", "10.96.0.55", 53);
    assertThat(out).as(out).isEqualTo("from 10.96.0.55 53\necho");
  }

  @Test
  void ipv6ServicesTranslateToo() throws Exception {
    sync.reset(
        List.of(
            service(
                "six",
                "fd00:96::50",
                80,
                Protocol.TCP,
                0,
                "random",
                List.of(backend("b1", "::1", 8081, true)))));
    assertThat(whois("tcp", "fd00:96::50", 80)).startsWith("peer fd00:96::50 80\nb1");
  }

  @Test
  void theMapsReadBackAsWritten() {
    sync.reset(List.of(service("web", "10.96.0.50", 80, Protocol.TCP, 0, "maglev", THREE)));
    var state = datapath.loadBalancer().read();
    assertThat(state.frontends()).hasSize(1);
    var svc = state.frontends().values().iterator().next();
    assertThat(svc.active()).hasSize(3);
    assertThat(svc.flags() & MapLayouts.LB_MAGLEV).isNotZero();
    assertThat(state.backends()).hasSize(3);
    // a restarted agent's sync adopts the maps and changes nothing
    ServiceSync again = new ServiceSync(datapath.loadBalancer(), List.of());
    assertThat(again.frontends()).isEqualTo(sync.frontends());
    sync.reset(List.of());
    assertThat(datapath.loadBalancer().read().frontends()).isEmpty();
    assertThat(datapath.loadBalancer().read().backends()).isEmpty();
  }

  @Test
  void aRestartedAgentConfiguredForAnotherCgroupMovesThePrograms() throws Exception {
    Path other = CGROUP_ROOT.resolve(TAG + "-other");
    Files.createDirectories(other);
    try {
      datapath.attachSocketLb(other);
      assertThat(run("bpftool", "cgroup", "show", other.toString()))
          .contains("porin_sock4_connect");
      assertThat(run("bpftool", "cgroup", "show", CGROUP.toString()))
          .doesNotContain("porin_sock4_connect");
    } finally {
      datapath.attachSocketLb(CGROUP);
      Files.deleteIfExists(other);
    }
    assertThat(run("bpftool", "cgroup", "show", CGROUP.toString())).contains("porin_sock6_sendmsg");
  }

  private static long noServiceDrops() {
    return datapath.counters().stream()
        .filter(c -> c.reason() == MapLayouts.DROP_NO_SERVICE)
        .mapToLong(c -> c.packets())
        .sum();
  }
}
