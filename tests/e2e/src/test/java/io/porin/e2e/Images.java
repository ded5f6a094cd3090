package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Porin's container images for the labs that run on them ({@code porin lab up --runtime podman}):
 * built once per test run with {@code bin/build-images}, where podman and buildah are installed
 * (./setup.sh installs them; on a machine without them the labs run as processes).
 */
final class Images {
  private Images() {}

  private static boolean built;

  static boolean available() {
    return onPath("podman") && onPath("buildah") && onPath("debootstrap");
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code porin lab up}'s options for a lab on the images ({@code --runtime podman}), after
   * building them; none where podman is not installed.
   */
  static synchronized List<String> labOptions() throws IOException, InterruptedException {
    if (!available()) {
      return List.of();
    }
    if (!built) {
      Repo.Result r = Repo.run(Map.of(), Repo.Duration.ofSeconds(1200), "bin/build-images");
      assertThat(r.exitCode()).as("bin/build-images:\n" + r.stdout() + r.stderr()).isZero();
      System.out.println(r.stdout());
      built = true;
    }
    return List.of("--runtime", "podman");
  }

  /** The names of a lab's running containers. */
  static List<String> containers(String lab) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "podman", "ps", "--filter", "label=porin.lab=" + lab, "--format", "{{.Names}}")
            .redirectErrorStream(true)
            .start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    p.waitFor();
    return out.lines().filter(l -> !l.isBlank()).sorted().toList();
  }
}
