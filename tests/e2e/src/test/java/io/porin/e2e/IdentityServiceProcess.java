package io.porin.e2e;

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
  private Process process;

  IdentityServiceProcess(int port, String etcdEndpoint, Path log) {
    this.port = port;
    this.etcd = etcdEndpoint;
    this.log = log;
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
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest ready =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build();
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
