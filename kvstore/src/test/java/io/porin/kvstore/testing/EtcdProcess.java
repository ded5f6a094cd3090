package io.porin.kvstore.testing;

import io.porin.kvstore.KvStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real single-member etcd (Debian's {@code etcd}) for integration tests: free loopback ports, a
 * data directory under {@code target/}, stopped and removed by {@link #close()} (and by a shutdown
 * hook when a test run dies). {@link #stop()} and {@link #start()} keep the data, for restart
 * tests.
 */
public final class EtcdProcess implements AutoCloseable {
  private final Path dataDir;
  private final int clientPort;
  private final int peerPort;
  private final Path log;
  private final TestPki pki;
  private Process process;
  private final Thread reaper = new Thread(this::kill, "etcd-reaper");

  private EtcdProcess(Path dataDir, int clientPort, int peerPort, TestPki pki) {
    this.pki = pki;
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
  }

  /** Starts a fresh etcd under {@code target/etcd-tests/}. */
  public static EtcdProcess start(String name) {
    return start(name, null);
  }

  /**
   * Starts a fresh etcd that speaks mutual TLS only ({@code svc/etcd} of {@code pki}'s CA, client
   * certificates required) with access control on: the test's admin is root, and {@code admitted}
   * get their users and roles ({@link io.porin.kvstore.EtcdAccess}).
   */
  public static EtcdProcess startSecure(
      String name, TestPki pki, List<io.porin.tls.PeerIdentity> admitted) {
    EtcdProcess etcd = start(name, pki);
    try (KvStore root = etcd.connect()) {
      io.porin.kvstore.EtcdAccess.admit(root, TestPki.ADMIN);
      for (var id : admitted) {
        io.porin.kvstore.EtcdAccess.admit(root, id);
      }
      io.porin.kvstore.EtcdAccess.enable(root);
    }
    return etcd;
  }

  /**
   * Starts a fresh etcd that speaks mutual TLS only, with access control still off (as a new
   * cluster's etcd before anything turned it on).
   */
  public static EtcdProcess startTls(String name, TestPki pki) {
    return start(name, pki);
  }

  private static EtcdProcess start(String name, TestPki pki) {
    try {
      Path base = Path.of("target", "etcd-tests").toAbsolutePath();
      Files.createDirectories(base);
      Path dir = Files.createTempDirectory(base, name + "-");
      EtcdProcess etcd = new EtcdProcess(dir, freePort(), freePort(), pki);
      Runtime.getRuntime().addShutdownHook(etcd.reaper);
      etcd.start();
      return etcd;
    } catch (IOException e) {
      throw new IllegalStateException("cannot prepare etcd's data directory", e);
    }
  }

  /** (Re)starts the process on the same ports and data. */
  public void start() {
    String binary = binary();
    List<String> argv = new java.util.ArrayList<>();
    if (pki != null) {
      Path cert = pki.bundle(KvStore.ETCD_IDENTITY);
      argv.addAll(
          List.of(
              "--client-cert-auth",
              "--trusted-ca-file",
              pki.caFile().toString(),
              "--cert-file",
              cert.toString(),
              "--key-file",
              cert.toString()));
    }
    argv.addAll(
        0,
        List.of(
            binary,
            "--name",
            "porin-test",
            "--data-dir",
            dataDir.toString(),
            "--listen-client-urls",
            endpoint(),
            "--advertise-client-urls",
            endpoint(),
            "--listen-peer-urls",
            "http://127.0.0.1:" + peerPort,
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:" + peerPort,
            "--initial-cluster",
            "porin-test=http://127.0.0.1:" + peerPort,
            "--log-level",
            "warn"));
    try {
      process =
          new ProcessBuilder(argv)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + binary + " (run ./setup.sh)", e);
    }
    awaitReady();
  }

  /** Stops the process, keeping its data. */
  public void stop() {
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  /** The client URL. */
  public String endpoint() {
    return (pki == null ? "http" : "https") + "://127.0.0.1:" + clientPort;
  }

  /** The CA etcd's certificate chains to, when it speaks TLS. */
  public TestPki pki() {
    return pki;
  }

  /** A new client for this etcd (as the test's admin, root, when it speaks TLS). */
  public KvStore connect() {
    return connectAs(TestPki.ADMIN);
  }

  /** A new client for this etcd with {@code id}'s certificate. */
  public KvStore connectAs(io.porin.tls.PeerIdentity id) {
    return KvStore.connect(
        List.of(endpoint()), Duration.ofSeconds(5), pki == null ? null : pki.tls(id));
  }

  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException shuttingDown) {
      // already running the hooks
    }
  }

  private void kill() {
    stop();
    deleteRecursively(dataDir);
    try {
      Files.deleteIfExists(log);
    } catch (IOException ignored) {
      // best effort: target/ is removed by the next clean
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    try (KvStore kv =
        KvStore.connect(
            List.of(endpoint()),
            Duration.ofMillis(500),
            pki == null ? null : pki.tls(TestPki.ADMIN))) {
      while (true) {
        if (!process.isAlive()) {
          throw new IllegalStateException("etcd exited at start:\n" + tail());
        }
        try {
          kv.revision();
          return;
        } catch (RuntimeException notYet) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("etcd did not become ready:\n" + tail(), notYet);
          }
          Thread.sleep(100);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private String tail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static String binary() {
    for (String candidate : List.of("/usr/bin/etcd", "/usr/local/bin/etcd")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    return "etcd";
  }

  /** A port on 127.0.0.1 that nothing listens on right now. */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort
    }
  }
}
