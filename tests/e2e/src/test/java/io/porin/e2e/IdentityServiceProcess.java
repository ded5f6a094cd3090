package io.porin.e2e;

import io.porin.kvstore.testing.TestPki;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One replica of the packaged identity service, as a separate process. */
final class IdentityServiceProcess implements AutoCloseable {
  static final Path JAR = Repo.ROOT.resolve("services/identity/target/quarkus-app/quarkus-run.jar");

  private final int port;
  private final String etcd;
  private final Path log;
  private final TestPki pki;
  private Process process;

  /** A replica with its certificate ({@code svc/identity}) of {@code pki}'s CA. */
  IdentityServiceProcess(int port, String etcdEndpoint, Path log, TestPki pki) {
    this.port = port;
    this.etcd = etcdEndpoint;
    this.log = log;
    this.pki = pki;
  }

  int port() {
    return port;
  }

  IdentityServiceProcess start() throws Exception {
    if (!Files.exists(JAR)) {
      throw new IllegalStateException(JAR + " is missing: package the identity service first");
    }
    process =
        new ProcessBuilder(
                List.of(
                    Repo.java().toString(),
                    "-Dporin.etcd.endpoints=" + etcd,
                    "-Dquarkus.http.port=" + port,
                    "-Dporin.tls.ca=" + pki.caFile(),
                    "-Dporin.tls.cert=" + pki.bundle(PeerIdentity.service("identity")),
                    "-jar",
                    JAR.toString()))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    awaitReady();
    return this;
  }

  /** Kills the process without letting it shut down (SIGKILL). */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  private void awaitReady() throws IOException, InterruptedException {
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(1))
            .sslContext(
                pki.tls(TestPki.ADMIN)
                    .clientContext(
                        ClusterTls.exactly(PeerIdentity.service("identity")), "svc/identity"))
            .build();
    HttpRequest ready =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/q/health/ready")).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("identity service exited:\n" + Files.readString(log));
      }
      try {
        if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException(
        "identity service on port " + port + " not ready:\n" + Files.readString(log));
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
      process = null;
    }
  }
}
