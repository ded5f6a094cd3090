package io.porin.lab;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The machine the lab runs on: commands, network namespaces and processes. Every namespace is
 * entered with {@code nsenter --net=}, never {@code ip netns exec} (which remounts /sys and hides
 * bpffs and cgroup2 from the agent).
 */
public final class Host {
  private Host() {}

  /** Where {@code ip netns} keeps named namespaces. */
  public static final Path NETNS_DIR = Path.of("/var/run/netns");

  /** What a command printed (stdout and stderr) and its exit code. */
  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Runs a command to completion (at most {@code timeoutSeconds}). */
  public static Result run(List<String> argv, Map<String, String> env, String stdin, int timeout) {
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(timeout, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, out + "(timed out after " + timeout + " s)");
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      return new Result(-1, argv.getFirst() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }

  public static Result run(String... argv) {
    return run(List.of(argv), Map.of(), null, 60);
  }

  /**
   * Runs a command that must succeed.
   *
   * @throws LabException naming the command and what it printed
   */
  public static String check(String... argv) {
    Result r = run(argv);
    if (!r.ok()) {
      throw new LabException(String.join(" ", argv) + ": " + r.output().strip());
    }
    return r.output();
  }

  /** {@code nsenter --net=<netns> argv...}. */
  private static volatile java.util.Set<String> capabilities;

  /** Whether the kernel (as setpriv knows it) has a capability of this name (e.g. net_admin). */
  public static boolean knownCapability(String name) {
    if (capabilities == null) {
      capabilities = java.util.Set.of(check("setpriv", "--list-caps").strip().split("\\s+"));
    }
    return capabilities.contains(name);
  }

  public static List<String> inNetns(String netns, List<String> argv) {
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath(netns)));
    cmd.addAll(argv);
    return cmd;
  }

  public static Path netnsPath(String netns) {
    return NETNS_DIR.resolve(netns);
  }

  public static boolean netnsExists(String netns) {
    return Files.exists(netnsPath(netns));
  }

  /** Creates a named network namespace with its loopback up (nothing if it exists). */
  public static void addNetns(String netns) {
    if (!netnsExists(netns)) {
      check("ip", "netns", "add", netns);
    }
    check("ip", "-n", netns, "link", "set", "lo", "up");
  }

  /** Deletes a named network namespace (nothing if it is gone). */
  public static void deleteNetns(String netns) {
    if (netnsExists(netns)) {
      Result r = run("ip", "netns", "del", netns);
      if (!r.ok() && netnsExists(netns)) {
        throw new LabException("ip netns del " + netns + ": " + r.output().strip());
      }
    }
  }

  /**
   * Starts a long-running process in its own session, detached from this one (it outlives the
   * command that started it), with stdin from /dev/null and its output appended to {@code log}.
   *
   * @return its PID (setsid and nsenter exec the program, so this is the program's own PID)
   */
  public static long spawn(List<String> argv, Path log, Map<String, String> env) {
    List<String> cmd = new ArrayList<>(List.of("setsid"));
    cmd.addAll(argv);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(env);
    try {
      return pb.start().pid();
    } catch (IOException e) {
      throw new LabException(argv.getFirst() + ": " + e.getMessage());
    }
  }

  /** The command line of a running process ({@code ""} when it is gone). */
  public static String cmdline(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  public static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !isZombie(pid);
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      int close = stat.lastIndexOf(')');
      return close > 0 && stat.length() > close + 2 && stat.charAt(close + 2) == 'Z';
    } catch (IOException e) {
      return true;
    }
  }

  /** The network namespace inode of a process, if it is alive. */
  public static OptionalLong netnsInodeOf(long pid) {
    try {
      String link = Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")).toString();
      return OptionalLong.of(Long.parseLong(link.replaceAll("\\D", "")));
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** The inode of a named network namespace, if it exists. */
  public static OptionalLong netnsInode(String netns) {
    try {
      return OptionalLong.of(
          ((Number) Files.getAttribute(netnsPath(netns), "unix:ino")).longValue());
    } catch (IOException | UnsupportedOperationException e) {
      return OptionalLong.empty();
    }
  }

  /** The PIDs of every process on this machine. */
  public static List<Long> allPids() {
    try (var s = Files.list(Path.of("/proc"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.chars().allMatch(Character::isDigit))
          .map(Long::parseLong)
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * Stops processes: SIGTERM, then SIGKILL for those still alive after {@code graceSeconds}.
   *
   * @return those that needed SIGKILL
   */
  public static List<Long> stop(List<Long> pids, int graceSeconds) {
    for (long pid : pids) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(graceSeconds);
    List<Long> killed = new ArrayList<>();
    for (long pid : pids) {
      while (alive(pid) && System.nanoTime() < deadline) {
        sleep(50);
      }
      if (alive(pid)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        killed.add(pid);
      }
    }
    for (long pid : killed) {
      for (int i = 0; i < 100 && alive(pid); i++) {
        sleep(50);
      }
    }
    return killed;
  }

  /** An HTTP GET from inside a namespace: the status code, or empty when nothing answered. */
  public static Optional<Integer> httpStatus(String netns, String url) {
    return httpStatus(netns, url, List.of());
  }

  /** As {@link #httpStatus(String, String)}, with more curl options (certificates). */
  public static Optional<Integer> httpStatus(String netns, String url, List<String> curlOptions) {
    List<String> argv =
        new java.util.ArrayList<>(
            List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2"));
    argv.addAll(curlOptions);
    argv.add(url);
    Result r = run(inNetns(netns, argv), Map.of(), null, 10);
    try {
      int code = Integer.parseInt(r.output().strip());
      return code == 0 ? Optional.empty() : Optional.of(code);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LabException("interrupted");
    }
  }
}
