package io.porin.service.health;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.health.SmallRyeHealth;
import io.smallrye.health.SmallRyeHealthReporter;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The kubelet's probe port ({@link ProbeConfig}). It answers only GET on the three health paths,
 * with 200 (UP) or 503 (DOWN) and the status word: the checks' details (etcd revisions, errors)
 * stay on the service's own port, behind mutual TLS.
 */
@ApplicationScoped
public class ProbePort {
  private static final Logger LOG = Logger.getLogger(ProbePort.class);
  public static final String LIVE = "/q/health/live";
  public static final String READY = "/q/health/ready";
  public static final String STARTED = "/q/health/started";

  private final ProbeConfig config;
  private final SmallRyeHealthReporter reporter;
  private final Vertx vertx;
  private HttpServer server;

  ProbePort(ProbeConfig config, SmallRyeHealthReporter reporter, Vertx vertx) {
    this.config = config;
    this.reporter = reporter;
    this.vertx = vertx;
  }

  void start(@Observes StartupEvent e) throws Exception {
    if (config.port() == 0) {
      return;
    }
    server =
        vertx
            .createHttpServer()
            .requestHandler(this::handle)
            .listen(config.port(), config.host())
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    LOG.infof(
        "probe port %s:%d (plain HTTP: %s, %s, %s only)",
        config.host(), server.actualPort(), LIVE, READY, STARTED);
  }

  void stop(@Observes ShutdownEvent e) {
    if (server != null) {
      server.close();
    }
  }

  /** The port it listens on (0 when none). */
  public int actualPort() {
    return server == null ? 0 : server.actualPort();
  }

  private void handle(HttpServerRequest req) {
    Supplier<Uni<SmallRyeHealth>> check =
        switch (req.path()) {
          case LIVE -> reporter::getLivenessAsync;
          case READY -> reporter::getReadinessAsync;
          case STARTED -> reporter::getStartupAsync;
          default -> null;
        };
    if (check == null || req.method() != HttpMethod.GET) {
      req.response().setStatusCode(check == null ? 404 : 405).end();
      return;
    }
    check
        .get()
        .subscribe()
        .with(
            h ->
                req.response()
                    .setStatusCode(h.isDown() ? 503 : 200)
                    .putHeader("content-type", "text/plain")
                    .end(h.isDown() ? "DOWN\n" : "UP\n"),
            t -> req.response().setStatusCode(503).end("DOWN\n"));
  }
}
