package io.porin.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The checkout under test: its scripts and packaged jars, run as a user would. */
final class Repo {
  static final Path ROOT =
      Path.of(System.getProperty("porin.repo", "../..")).toAbsolutePath().normalize();

  private Repo() {}

  /** What a command printed and how it ended. */
  record Result(int exitCode, String stdout, String stderr) {}

  /** Runs a command of the checkout (e.g. bin/porin) with extra environment. */
  static Result run(Map<String, String> env, Duration timeout, String... command)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(command));
    cmd.set(0, ROOT.resolve(cmd.get(0)).toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile());
    pb.environment().putAll(env);
    Path out = Files.createTempFile("porin-e2e", ".out");
    Path err = Files.createTempFile("porin-e2e", ".err");
    try {
      Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(timeout.seconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        throw new AssertionError(
            String.join(" ", command)
                + " did not finish in "
                + timeout.seconds()
                + " s:\n"
                + Files.readString(out)
                + Files.readString(err));
      }
      return new Result(
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** A timeout in seconds. */
  record Duration(long seconds) {
    static Duration ofSeconds(long s) {
      return new Duration(s);
    }
  }

  /** The JDK the build uses (bin/find-jdk). */
  static Path java() throws IOException, InterruptedException {
    Result r = run(Map.of(), Duration.ofSeconds(30), "bin/find-jdk");
    if (r.exitCode() != 0) {
      throw new IllegalStateException(r.stderr());
    }
    return Path.of(r.stdout().strip(), "bin", "java");
  }
}
