package io.porin.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * The lab's container runtime: podman runs Porin's images ({@code bin/build-images}) in the lab's
 * namespaces, with what the Kubernetes manifests give them. The agent: root with the manifest's
 * capabilities only ({@code bpf, net_admin, sys_admin}, or the lab's {@code --agent-capabilities}),
 * bpffs, the named network namespaces, cgroup v2 at {@code /run/porin/cgroupv2} and the namespace's
 * {@code /proc/sys/net} at {@code /host/proc/sys/net}, as agent.yaml mounts them. Everything else:
 * no capabilities. Every container: a read-only root, no privilege escalation, the lab's directory
 * at its own path (certificates, etcd's data, the agents' state), and its output straight into the
 * lab's log file.
 *
 * <p>The containers run as uid 0 (without capabilities, so it reads only files root owns): the
 * lab's files are root's, made by {@code porin lab up}. In a cluster the images' own user, 10001,
 * runs them.
 */
public final class Containers {
  private Containers() {}

  public static final String PROCESSES = "processes";
  public static final String PODMAN = "podman";

  /** The agent's capabilities when the lab names none: agent.yaml's. */
  static final List<String> AGENT_CAPABILITIES = List.of("bpf", "net_admin", "sys_admin");

  /** Where the agent's container sees cgroup v2 (as agent.yaml mounts it). */
  static final Path CGROUP_MOUNT = Path.of("/run/porin/cgroupv2");

  /** The version of Porin this lab was built as: its images are porin/*:this. */
  public static String version() {
    try (InputStream in = Containers.class.getResourceAsStream("build.properties")) {
      if (in == null) {
        throw new LabException("build.properties is not on the classpath: rebuild the lab module");
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** An image of Porin's, as bin/build-images tags it. */
  public static String image(String component, String version) {
    return "localhost/porin/" + component + ":" + version;
  }

  /**
   * Checks that podman is there and that every image the lab runs is built.
   *
   * @throws LabException naming what is missing and how to make it
   */
  public static void check(String version) {
    Host.Result r = Host.run("podman", "--version");
    if (!r.ok()) {
      throw new LabException(
          "--runtime podman: podman is not installed (./setup.sh installs it): "
              + r.output().strip());
    }
    List<String> missing = new ArrayList<>();
    for (String c :
        List.of("etcd", "identity", "ipam", "policy", "relay", "clustermesh", "node-agent")) {
      if (!Host.run("podman", "image", "exists", image(c, version)).ok()) {
        missing.add("porin/" + c + ":" + version);
      }
    }
    if (!missing.isEmpty()) {
      throw new LabException(
          "--runtime podman: no image "
              + String.join(", ", missing)
              + " here: build them with bin/build-images");
    }
  }

  /** The container's name: one per lab and role, so a restart replaces it. */
  static String name(String lab, String role) {
    return "porin-" + lab + "-" + role.replace('/', '-');
  }

  /**
   * The command that runs a component in a container, attached (the command lives as long as the
   * container and forwards SIGTERM to it; {@link #kill} kills the container itself).
   *
   * @param javaOptions the JVM's options for a Java component (given as JAVA_TOOL_OPTIONS, so the
   *     image's own command line runs), or null for etcd
   * @param args the program's arguments (etcd's)
   * @param agentCapabilities non-null for a node agent: its capabilities
   */
  static List<String> run(
      LabState s,
      Path labHome,
      String role,
      String netns,
      String component,
      List<String> javaOptions,
      List<String> args,
      List<String> agentCapabilities) {
    List<String> argv =
        new ArrayList<>(
            List.of(
                "podman",
                "run",
                "--rm",
                "--replace",
                "--name",
                name(s.name, role),
                "--label",
                "porin.lab=" + s.name,
                "--network",
                "ns:" + Host.netnsPath(netns),
                // this machine's limits: podman's defaults are above what root may set here
                "--ulimit",
                "nofile=16384:16384",
                "--ulimit",
                "nproc=8192:8192",
                "--log-driver",
                "passthrough",
                "--read-only",
                "--security-opt",
                "no-new-privileges",
                "--user",
                "0:0",
                "--cap-drop",
                "all",
                "-v",
                labHome + ":" + labHome));
    if (agentCapabilities != null) {
      argv.addAll(
          List.of(
              "--cap-add",
              String.join(",", agentCapabilities),
              "--device",
              "/dev/net/tun",
              "-v",
              "/sys/fs/bpf:/sys/fs/bpf",
              "-v",
              Host.NETNS_DIR + ":" + Host.NETNS_DIR + ":rslave",
              "-v",
              Cgroups.root() + ":" + CGROUP_MOUNT,
              "-v",
              "/proc/sys/net:/host/proc/sys/net"));
    }
    if (javaOptions != null) {
      argv.addAll(List.of("-e", "JAVA_TOOL_OPTIONS=" + String.join(" ", javaOptions)));
    }
    Lab.COMPONENT_ENV.forEach((k, v) -> argv.addAll(List.of("-e", k + "=" + v)));
    argv.add(image(component, s.imageVersion));
    argv.addAll(args);
    return argv;
  }

  /** The agent's socket-LB cgroup as its container sees it. */
  static Path agentCgroup(Path hostCgroup) {
    return CGROUP_MOUNT.resolve(Cgroups.root().relativize(hostCgroup));
  }

  /** Kills a lab's container (SIGKILL, as a crash), if it runs. */
  static void kill(String lab, String role) {
    Host.run("podman", "kill", "--signal", "KILL", name(lab, role));
  }

  /** Removes every container of a lab (what a crash of the lab's commands may have left). */
  static int removeAll(String lab) {
    Host.Result r = Host.run("podman", "ps", "-aq", "--filter", "label=porin.lab=" + lab);
    List<String> ids = r.ok() ? List.of(r.output().strip().split("\\s+")) : List.of();
    ids = ids.stream().filter(id -> !id.isBlank()).toList();
    if (!ids.isEmpty()) {
      List<String> argv = new ArrayList<>(List.of("podman", "rm", "-f", "-t", "5"));
      argv.addAll(ids);
      Host.run(argv, java.util.Map.of(), null, 60);
    }
    return ids.size();
  }
}
