package io.porin.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The lab's own cgroup v2 subtree, {@code <cgroup2>/porin-lab-<lab>/<node>/<namespace>_<pod>}: each
 * node's agent attaches socket load balancing to its node's directory, and each pod's processes run
 * in the pod's directory below it, as a kubelet puts a pod's containers under the node's pod slice.
 * Nothing is attached to, or moved out of, any cgroup the lab did not create.
 */
public final class Cgroups {
  private Cgroups() {}

  /** Where cgroup v2 is mounted: the unified hierarchy of a hybrid host, or the root. */
  public static Path root() {
    Path unified = Path.of("/sys/fs/cgroup/unified");
    if (Files.exists(unified.resolve("cgroup.procs"))) {
      return unified;
    }
    Path root = Path.of("/sys/fs/cgroup");
    if (Files.exists(root.resolve("cgroup.controllers"))) {
      return root;
    }
    throw new LabException(
        "no cgroup v2 hierarchy (neither /sys/fs/cgroup/unified nor a cgroup2 /sys/fs/cgroup)");
  }

  public static Path lab(String lab) {
    return root().resolve("porin-lab-" + lab);
  }

  public static Path node(String lab, String node) {
    return lab(lab).resolve(node);
  }

  public static Path pod(String lab, String node, String namespace, String pod) {
    return node(lab, node).resolve(namespace + "_" + pod);
  }

  /** Creates a cgroup directory (and its parents). */
  public static Path create(Path dir) {
    try {
      Files.createDirectories(dir);
      return dir;
    } catch (IOException e) {
      throw new LabException("cannot create the cgroup " + dir + ": " + e.getMessage());
    }
  }

  /**
   * The command that runs {@code argv} inside {@code cgroup}: a shell moves itself there, then
   * execs (the program keeps the shell's PID and cgroup).
   */
  public static List<String> inCgroup(Path cgroup, List<String> argv) {
    List<String> cmd =
        new ArrayList<>(
            List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"", cgroup.toString()));
    cmd.addAll(argv);
    return cmd;
  }

  /** The processes still in a cgroup subtree. */
  public static List<Long> processes(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<Long> pids = new ArrayList<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(f -> f.getFileName().toString().equals("cgroup.procs")).toList()) {
        for (String line : Files.readAllLines(p)) {
          if (!line.isBlank()) {
            pids.add(Long.parseLong(line.strip()));
          }
        }
      }
    } catch (IOException e) {
      throw new LabException("reading " + dir + ": " + e.getMessage());
    }
    return pids;
  }

  /** Removes a cgroup subtree (its processes must be gone), deepest first. */
  public static void remove(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p); // rmdir: a cgroup's control files go with it
      }
    } catch (IOException e) {
      throw new LabException("cannot remove the cgroup " + dir + ": " + e.getMessage());
    }
  }
}
