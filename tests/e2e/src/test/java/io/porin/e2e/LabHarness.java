package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Labs as a user runs them: {@code bin/porin lab up|down} and every other command through {@code
 * bin/porin}, with the labs' state and the context file under {@code target/}. Probes run inside
 * pods' namespaces with {@code nsenter --net=} and the lab's own {@code porin-pod}.
 */
final class LabHarness {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path TARGET = Repo.ROOT.resolve("tests/e2e/target");
  static final Path LAB_DIR = TARGET.resolve("labs");
  static final Path PORIN_POD = Repo.ROOT.resolve("lab/target/bin/porin-pod");

  private final Map<String, String> env = new HashMap<>();

  LabHarness(String configName) {
    env.put("PORIN_LAB_DIR", LAB_DIR.toString());
    env.put("PORIN_CONFIG", TARGET.resolve(configName + ".config").toString());
  }

  Map<String, String> env() {
    return env;
  }

  /**
   * The curl options that present lab {@code lab}'s admin certificate and trust its CA (every port
   * of a lab's control plane and agents speaks mutual TLS only).
   */
  static List<String> adminTls(String lab) {
    Path home = LAB_DIR.resolve(lab);
    String admin = home.resolve("pki/admin." + lab + ".pem").toString();
    return List.of(
        "--cacert", home.resolve("ca/ca.crt").toString(), "--cert", admin, "--key", admin);
  }

  /**
   * GET {@code https://127.0.0.1:<port><path>} inside {@code netns}, as lab {@code lab}'s admin.
   */
  static String curlTls(String lab, String netns, int port, String path)
      throws IOException, InterruptedException {
    List<String> argv =
        new ArrayList<>(
            List.of("nsenter", "--net=/var/run/netns/" + netns, "curl", "-s", "-m", "5"));
    argv.addAll(adminTls(lab));
    argv.add("https://127.0.0.1:" + port + path);
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(10, TimeUnit.SECONDS);
    return out;
  }

  /** {@code bin/porin args...}; the result, whatever the exit code. */
  Repo.Result porin(String... args) throws IOException, InterruptedException {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "bin/porin";
    System.arraycopy(args, 0, cmd, 1, args.length);
    return Repo.run(env, Repo.Duration.ofSeconds(300), cmd);
  }

  /** {@code bin/porin args...}, which must succeed; its standard output. */
  String ok(String... args) throws IOException, InterruptedException {
    Repo.Result r = porin(args);
    assertThat(r.exitCode())
        .as("porin %s:\n%s%s", String.join(" ", args), r.stdout(), r.stderr())
        .isZero();
    return r.stdout();
  }

  /**
   * The capabilities k8s/base/agent.yaml grants the node agent, as {@code --agent-capabilities}
   * takes them: labs that run their agents with exactly these check that the manifest grants
   * enough.
   */
  static String manifestAgentCapabilities() throws IOException {
    String yaml = java.nio.file.Files.readString(Repo.ROOT.resolve("k8s/base/agent.yaml"));
    var m = java.util.regex.Pattern.compile("(?m)^\\s*add: \\[([A-Z_, ]+)\\]").matcher(yaml);
    if (!m.find()) {
      throw new IllegalStateException("k8s/base/agent.yaml grants the agent no capabilities");
    }
    return m.group(1).replace(" ", "").toLowerCase(java.util.Locale.ROOT);
  }

  /** Brings a lab up (removing a leftover of the same name first). */
  void up(String name, int nodes, int clusterId, String... more)
      throws IOException, InterruptedException {
    porin("lab", "down", "--name", name);
    List<String> args =
        new ArrayList<>(
            List.of(
                "lab",
                "up",
                "--name",
                name,
                "--nodes",
                Integer.toString(nodes),
                "--cluster-id",
                Integer.toString(clusterId)));
    args.addAll(List.of(more));
    ok(args.toArray(String[]::new));
  }

  /** Applies YAML given as text. */
  /**
   * A {@code porin} command left running (e.g. {@code observe --follow}): its lines as they come.
   */
  record Running(Process process, java.util.concurrent.BlockingQueue<String> lines)
      implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /** Starts {@code porin args} in this lab's context; its stderr goes to {@code stderr}. */
  Running start(java.io.File stderr, String... args) throws IOException {
    List<String> argv = new java.util.ArrayList<>();
    argv.add(Repo.ROOT.resolve("bin/porin").toString());
    argv.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(argv)
            .redirectError(
                stderr == null
                    ? ProcessBuilder.Redirect.DISCARD
                    : ProcessBuilder.Redirect.to(stderr));
    pb.environment().putAll(env());
    Process p = pb.start();
    java.util.concurrent.BlockingQueue<String> lines =
        new java.util.concurrent.LinkedBlockingQueue<>();
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try (java.io.BufferedReader r =
                  new java.io.BufferedReader(
                      new java.io.InputStreamReader(
                          p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
                for (String l = r.readLine(); l != null; l = r.readLine()) {
                  lines.add(l);
                }
              } catch (IOException e) {
                // the process ended
              }
            });
    return new Running(p, lines);
  }

  String apply(String yaml) throws IOException, InterruptedException {
    Path f = Files.createTempFile(TARGET, "apply", ".yaml");
    try {
      Files.writeString(f, yaml);
      return ok("apply", "-f", f.toString());
    } finally {
      Files.deleteIfExists(f);
    }
  }

  String delete(String yaml) throws IOException, InterruptedException {
    Path f = Files.createTempFile(TARGET, "delete", ".yaml");
    try {
      Files.writeString(f, yaml);
      return ok("delete", "-f", f.toString());
    } finally {
      Files.deleteIfExists(f);
    }
  }

  /**
   * Waits until the policy service lists exactly {@code names} (namespace/name) as the valid
   * policies of these namespaces, then until every node has acknowledged the revision.
   */
  void awaitPolicies(List<String> namespaces, List<String> names) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<String> seen = List.of();
    while (System.nanoTime() < deadline) {
      JsonNode list = JSON.readTree(ok("policy", "list", "-o", "json"));
      List<String> valid = new ArrayList<>();
      for (JsonNode p : list.isArray() ? list : list.path("policies")) {
        String ns = p.path("namespace").asText();
        if (namespaces.contains(ns) && p.path("state").asText().equals("valid")) {
          valid.add(ns + "/" + p.path("name").asText());
        }
      }
      seen = valid;
      if (valid.size() == names.size() && valid.containsAll(names)) {
        ok("policy", "wait", "--timeout", "60s");
        return;
      }
      Thread.sleep(300);
    }
    throw new AssertionError(
        "policies " + names + " not compiled in 60 s; the service lists " + seen);
  }

  /** A pod as {@code porin get pods -A -o json} shows it. */
  record Pod(String namespace, String name, String node, String ipv4, String ipv6, String netns) {
    String key() {
      return namespace + "/" + name;
    }
  }

  Map<String, Pod> pods() throws IOException, InterruptedException {
    return pods(ok("get", "pods", "-A", "-o", "json"));
  }

  /** The pods of another lab of this harness's context file, by namespace/name. */
  Map<String, Pod> podsOf(String context) throws IOException, InterruptedException {
    return pods(ok("--context", context, "get", "pods", "-A", "-o", "json"));
  }

  private static Map<String, Pod> pods(String json) throws IOException {
    JsonNode j = JSON.readTree(json);
    Map<String, Pod> m = new HashMap<>();
    for (JsonNode p : j.path("pods")) {
      Pod pod =
          new Pod(
              p.path("namespace").asText(),
              p.path("name").asText(),
              p.path("node").asText(),
              p.path("ipv4").asText(),
              p.path("ipv6").asText(),
              p.path("netns").asText());
      m.put(pod.key(), pod);
    }
    return m;
  }

  /**
   * Probes many targets at once from inside a pod ({@code porin-pod probe-all}): for each line
   * "tcp|udp HOST PORT", whether it answered.
   */
  static List<Boolean> probeAll(Pod from, List<String> targets, int timeoutMs)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "nsenter",
                "--net=" + from.netns(),
                PORIN_POD.toString(),
                "probe-all",
                Integer.toString(timeoutMs))
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().write((String.join("\n", targets) + "\n").getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    List<String> lines = out.lines().toList();
    assertThat(lines).as(out).hasSize(targets.size());
    return lines.stream().map(l -> l.split(" ")[3].equals("ok")).toList();
  }

  /** A command inside a pod's namespace, started in the background. */
  static Process inPod(Pod pod, Path log, String... argv) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + pod.netns()));
    cmd.addAll(List.of(argv));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** Removes a lab and checks that nothing of it is left on the machine. */
  void downAndCheckGone(String name) throws IOException, InterruptedException {
    ok("lab", "down", "--name", name);
    assertGone(name);
  }

  static void assertGone(String name) throws IOException {
    try (Stream<Path> s = Files.list(Path.of("/var/run/netns"))) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(name + "-")))
          .as("network namespaces of lab " + name)
          .isEmpty();
    }
    String labDir = LAB_DIR.resolve(name).toString();
    List<String> left = new ArrayList<>();
    ProcessHandle.allProcesses()
        .forEach(
            ph -> {
              try {
                String cmdline =
                    Files.readString(Path.of("/proc/" + ph.pid() + "/cmdline")).replace('\0', ' ');
                if (cmdline.contains(labDir + "/") || cmdline.contains(labDir + " ")) {
                  left.add(ph.pid() + ": " + cmdline);
                }
              } catch (IOException e) {
                // gone meanwhile
              }
            });
    assertThat(left).as("processes of lab " + name).isEmpty();
    assertThat(Files.exists(LAB_DIR.resolve(name))).as("state of lab " + name).isFalse();
    try (Stream<Path> s = Files.list(Path.of("/sys/fs/bpf/porin"))) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(name + "-")))
          .as("bpffs pins of lab " + name)
          .isEmpty();
    } catch (java.nio.file.NoSuchFileException e) {
      // no pins at all
    }
    for (String root : List.of("/sys/fs/cgroup/unified", "/sys/fs/cgroup")) {
      assertThat(Files.exists(Path.of(root, "porin-lab-" + name)))
          .as("cgroup of lab " + name + " under " + root)
          .isFalse();
    }
  }
}
