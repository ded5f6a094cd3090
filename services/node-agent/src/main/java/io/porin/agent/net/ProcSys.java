package io.porin.agent.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel's settings of the agent's network namespace ({@code net.*} sysctls), under a root that
 * is {@code /proc/sys} on a host and, in a container (whose {@code /proc/sys} is read-only), the
 * host's {@code /proc/sys/net} mounted elsewhere, as Cilium's DaemonSet mounts it at {@code
 * /host/proc/sys/net} ({@code porin.agent.proc-sys}). A {@code net.*} file answers for the network
 * namespace of the process that opens it, whichever mount it is reached through.
 */
public record ProcSys(Path root) {

  public static final ProcSys DEFAULT = new ProcSys(Path.of("/proc/sys"));

  /** {@code key} as a path below the root: {@code net/ipv4/ip_forward}. */
  public Path file(String key) {
    if (!key.startsWith("net/") || key.contains("..")) {
      throw new IllegalArgumentException("not a net.* setting: " + key);
    }
    return root.resolve(key);
  }

  public boolean exists(String key) {
    return Files.exists(file(key));
  }

  public String read(String key) throws IOException {
    return Files.readString(file(key)).strip();
  }

  /**
   * Sets a value.
   *
   * @throws IOException naming the setting and the root (a read-only {@code /proc/sys} says which
   *     mount is missing)
   */
  public void write(String key, String value) throws IOException {
    try {
      Files.writeString(file(key), value);
    } catch (IOException e) {
      throw new IOException(
          key.replace('/', '.')
              + "="
              + value
              + " under "
              + root
              + ": "
              + e.getMessage()
              + (root.equals(DEFAULT.root)
                  ? " (in a container, mount the host's /proc/sys/net elsewhere and set"
                      + " porin.agent.proc-sys)"
                  : ""),
          e);
    }
  }
}
