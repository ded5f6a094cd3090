package io.porin.agent.net;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs iproute2 and nsenter. Pod wiring is not a hot path: a few commands per pod, each a few
 * milliseconds. Failures name the command and what it printed.
 */
public final class Command {
  /** What a command printed and how it ended. */
  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  private Command() {}

  public static Result run(List<String> argv) {
    return run(argv, null);
  }

  /** Runs with {@code stdin} as its input (e.g. a key that must not be on a command line). */
  public static Result run(List<String> argv, String stdin) {
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      try (var in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
      }
      String out = new String(p.getInputStream().readAllBytes()).trim();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out after 30 s");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      return new Result(-1, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }

  /** Runs and throws {@link NetException} unless it succeeds. */
  public static String check(List<String> argv) {
    Result r = run(argv);
    if (!r.ok()) {
      throw new NetException(String.join(" ", argv) + ": " + r.output());
    }
    return r.output();
  }

  public static String ip(String... args) {
    List<String> argv = new ArrayList<>(List.of("ip"));
    argv.addAll(List.of(args));
    return check(argv);
  }

  /** {@code ip} inside another network namespace (by path), through nsenter. */
  public static String ipIn(String netns, String... args) {
    List<String> argv = new ArrayList<>(List.of("nsenter", "--net=" + netns, "ip"));
    argv.addAll(List.of(args));
    return check(argv);
  }

  public static Result tryIpIn(String netns, String... args) {
    List<String> argv = new ArrayList<>(List.of("nsenter", "--net=" + netns, "ip"));
    argv.addAll(List.of(args));
    return run(argv);
  }

  public static Result tryIp(String... args) {
    List<String> argv = new ArrayList<>(List.of("ip"));
    argv.addAll(List.of(args));
    return run(argv);
  }
}
