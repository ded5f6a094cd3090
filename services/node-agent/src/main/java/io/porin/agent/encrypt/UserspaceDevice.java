package io.porin.agent.encrypt;

import io.porin.agent.net.Command;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * WireGuard in user space: {@code wireguard-go} in the foreground, supervised by the agent,
 * configured through its UAPI socket. wireguard-go always puts its socket in /var/run/wireguard;
 * each node's runs in a mount namespace of its own where that directory is the node's state
 * directory, so that several nodes of one host (the lab) never share a socket.
 *
 * <p>wireguard-go outlives an agent that dies (as a kernel device would): a restarted agent finds
 * its socket answering and adopts it, so traffic never stops for an agent restart.
 */
public final class UserspaceDevice implements WireGuardDevice {
  private static final Logger LOG = Logger.getLogger(UserspaceDevice.class);

  /** Unix socket paths are limited to 108 bytes, the terminating NUL included. */
  private static final int SOCKET_PATH_MAX = 107;

  private final String name;
  private final Path dir;
  private final Path log;
  private final Uapi uapi;
  private final Runnable onRestart;
  private volatile Process child;
  private volatile boolean closed;
  private Thread supervisor;

  private UserspaceDevice(String name, Path dir, Runnable onRestart) {
    this.name = name;
    this.dir = dir;
    this.log = dir.resolve("wireguard-go.log");
    this.uapi = new Uapi(dir.resolve(name + ".sock"));
    this.onRestart = onRestart;
  }

  /**
   * The device {@code name}, adopted when a wireguard-go already serves it from {@code dir}, else
   * started. {@code onRestart} runs after wireguard-go had to be started again (it comes back
   * empty, with a new interface index): the caller configures it again.
   */
  public static UserspaceDevice start(String name, Path dir, Runnable onRestart)
      throws IOException {
    Files.createDirectories(dir);
    UserspaceDevice d = new UserspaceDevice(name, dir, onRestart);
    if (d.uapi.socket().toString().length() > SOCKET_PATH_MAX) {
      throw new IOException(
          "porin.agent.state-dir: the WireGuard socket "
              + d.uapi.socket()
              + " is longer than the "
              + SOCKET_PATH_MAX
              + " bytes a unix socket path may have; use a shorter state directory");
    }
    if (d.uapi.alive() && exists(name)) {
      LOG.infof("wireguard-go for %s is running: adopted", name);
    } else {
      d.spawn();
    }
    d.supervise();
    return d;
  }

  private static boolean exists(String name) {
    return io.porin.agent.bpf.Tc.ifindex(name) != 0;
  }

  private void spawn() throws IOException {
    if (exists(name)) {
      // a device nothing answers for (its wireguard-go hung, or its socket is gone): removing
      // it ends that wireguard-go, which could not be reconfigured anyway
      LOG.warnf("%s exists but its socket %s does not answer: removing it", name, uapi.socket());
      Command.run(List.of("ip", "link", "del", "dev", name));
    }
    Files.deleteIfExists(uapi.socket());
    // wireguard-go's own directory; in the child's mount namespace the node's directory covers it
    Files.createDirectories(Path.of("/var/run/wireguard"));
    ProcessBuilder pb =
        new ProcessBuilder(
                "unshare",
                "--mount",
                "--propagation",
                // mounts go on arriving from the host (a namespace unmounted there is not kept
                // alive here); ours stay ours
                "slave",
                "sh",
                "-c",
                "mount --bind \"$0\" /var/run/wireguard && exec wireguard-go -f \"$1\"",
                dir.toString(),
                name)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("LOG_LEVEL", "error");
    pb.environment().put("WG_PROCESS_FOREGROUND", "1");
    child = pb.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!(uapi.alive() && exists(name))) {
      if (!child.isAlive()) {
        throw new IOException(
            "wireguard-go exited with " + child.exitValue() + " (its output: " + log + ")");
      }
      if (System.nanoTime() > deadline) {
        child.destroyForcibly();
        throw new IOException("wireguard-go did not open " + uapi.socket() + " within 10 s");
      }
      sleep(20);
    }
    LOG.infof("wireguard-go started for %s (pid %d)", name, child.pid());
  }

  /** Starts wireguard-go again whenever it is gone, then has the caller configure it. */
  private void supervise() {
    supervisor =
        Thread.ofPlatform()
            .name("porin-wireguard-go")
            .daemon()
            .start(
                () -> {
                  int failures = 0;
                  while (!closed) {
                    sleep(1000);
                    Process c = child;
                    // an adopted one is judged by its socket: three silences in a row
                    boolean alive;
                    if (c != null) {
                      alive = c.isAlive();
                    } else if (uapi.alive()) {
                      failures = 0;
                      alive = true;
                    } else {
                      alive = ++failures < 3;
                    }
                    if (alive || closed) {
                      continue;
                    }
                    failures = 0;
                    LOG.warnf("wireguard-go for %s is gone: starting it again", name);
                    try {
                      spawn();
                      onRestart.run();
                    } catch (IOException | RuntimeException e) {
                      LOG.errorf("starting wireguard-go again: %s", e.getMessage());
                    }
                  }
                });
  }

  @Override
  public String mode() {
    return "userspace";
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void configure(WireGuardKeys keys, int listenPort) {
    try {
      uapi.set(Uapi.configure(keys, listenPort));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void update(Collection<String> remove, Collection<Peer> set) {
    if (remove.isEmpty() && set.isEmpty()) {
      return;
    }
    try {
      uapi.set(Uapi.update(remove, set));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public Status status() {
    try {
      return uapi.get();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Removes the interface: wireguard-go exits when its TUN device goes. */
  @Override
  public void destroy() {
    closed = true;
    Command.run(List.of("ip", "link", "del", "dev", name));
    Process c = child;
    if (c != null) {
      try {
        if (!c.waitFor(5, TimeUnit.SECONDS)) {
          c.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Stops supervising; wireguard-go keeps running (and carrying traffic). */
  @Override
  public void close() {
    closed = true;
    if (supervisor != null) {
      supervisor.interrupt();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
