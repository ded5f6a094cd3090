package io.porin.agent.bpf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The BPF filesystem where maps are pinned: mounted when missing. */
public final class Bpffs {
  public static final Path ROOT = Path.of("/sys/fs/bpf");

  private Bpffs() {}

  /** True when a bpf filesystem is mounted at /sys/fs/bpf. */
  public static boolean mounted() throws IOException {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
      return lines.anyMatch(
          l ->
              l.contains(" " + ROOT + " ") && l.substring(l.indexOf(" - ") + 3).startsWith("bpf "));
    }
  }

  /** Mounts bpffs when it is not mounted yet. */
  public static void ensureMounted() throws IOException, InterruptedException {
    if (mounted()) {
      return;
    }
    Process p =
        new ProcessBuilder("mount", "-t", "bpf", "bpf", ROOT.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    if (p.waitFor() != 0 && !mounted()) {
      throw new IOException("cannot mount bpffs at " + ROOT + ": " + out);
    }
  }

  /** Removes a pin directory and everything pinned under it. */
  public static void removeTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
