package io.porin.identity.join;

import io.porin.identity.ca.OnlineCa;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Pem;
import io.porin.tls.Revocations;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.KeyCertOptions;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The join port: how a component without a certificate gets its first one. TLS with this service's
 * certificate (the caller checks it against the cluster CA it was given), no client certificate
 * (the caller has none yet): {@code POST /v1/join} with {@code {"token": ..., "publicKey": <base64
 * DER, EC P-256>}} answers {@code {"identity": <uri>, "certificates": <PEM chain>}} for the
 * identity the token proves ({@link JoinVerifier}). Nothing else is served. An identity on the deny
 * list is refused until an admin re-admits it; bodies are bounded, reviews run a few at a time.
 */
public final class JoinServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(JoinServer.class);
  static final String PATH = "/v1/join";
  static final int MAX_BODY = 16 * 1024;
  static final int CONCURRENT_REVIEWS = 4;
  static final int MAX_CONNECTIONS = 64;
  static final long REQUEST_DEADLINE_MS = 10_000;

  private final JoinVerifier verifier;
  private final OnlineCa ca;
  private final ClusterTls tls;
  private final Revocations revocations;
  private final BooleanSupplier revocationsRead;
  private final JoinRecords records;
  private final Consumer<PeerIdentity> admitted;
  private final Semaphore reviews = new Semaphore(CONCURRENT_REVIEWS);
  private final AtomicInteger connections = new AtomicInteger();
  private final Vertx vertx;
  private HttpServer server;

  /**
   * @param revocations the deny list; {@code revocationsRead} says whether it has been read (until
   *     then every join waits: 503)
   * @param records where a pod's join is recorded (a pod joins once)
   * @param admitted called with each identity before its certificate is returned (etcd admission);
   *     a failure there refuses the join
   */
  public JoinServer(
      Vertx vertx,
      JoinVerifier verifier,
      OnlineCa ca,
      ClusterTls tls,
      Revocations revocations,
      BooleanSupplier revocationsRead,
      JoinRecords records,
      Consumer<PeerIdentity> admitted) {
    this.vertx = vertx;
    this.verifier = verifier;
    this.ca = ca;
    this.tls = tls;
    this.revocations = revocations;
    this.revocationsRead = revocationsRead;
    this.records = records;
    this.admitted = admitted;
  }

  /** Listens on {@code host:port} (port 0: any). */
  public JoinServer start(String host, int port) throws Exception {
    HttpServerOptions options =
        new HttpServerOptions()
            .setSsl(true)
            .setEnabledSecureTransportProtocols(Set.of(ClusterTls.PROTOCOL))
            .setKeyCertOptions(KeyCertOptions.wrap(tls.keyManager()))
            .setMaxHeaderSize(8192)
            .setIdleTimeout(30)
            .setIdleTimeoutUnit(TimeUnit.SECONDS);
    server =
        vertx
            .createHttpServer(options)
            .connectionHandler(
                conn -> {
                  // a bounded number of connections, each with a deadline for its request
                  if (connections.incrementAndGet() > MAX_CONNECTIONS) {
                    conn.close();
                  }
                  conn.closeHandler(v -> connections.decrementAndGet());
                })
            .requestHandler(this::handle)
            .listen(port, host)
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    LOG.infof(
        "join port %s:%d (first certificates for tokens that prove a component)",
        host, server.actualPort());
    return this;
  }

  public int port() {
    return server.actualPort();
  }

  private void handle(HttpServerRequest req) {
    long deadline =
        vertx.setTimer(
            REQUEST_DEADLINE_MS,
            t -> {
              if (!req.response().ended()) {
                req.connection().close();
              }
            });
    // (a request whose connection closes first leaves its timer to fire on a closed connection)
    req.response().endHandler(v -> vertx.cancelTimer(deadline));
    if (!req.path().equals(PATH)) {
      req.response().setStatusCode(404).end();
      return;
    }
    if (req.method() != HttpMethod.POST) {
      req.response().setStatusCode(405).end();
      return;
    }
    Buffer body = Buffer.buffer();
    req.handler(
        chunk -> {
          if (body.length() + chunk.length() > MAX_BODY) {
            req.pause();
            refuse(req, new JoinRefused(413, "the request is larger than " + MAX_BODY + " bytes"));
            req.connection().close();
            return;
          }
          body.appendBuffer(chunk);
        });
    req.endHandler(
        v -> {
          if (req.response().ended()) {
            return;
          }
          if (!reviews.tryAcquire()) {
            refuse(req, new JoinRefused(503, "too many joins at once; retry"));
            return;
          }
          vertx
              .<JsonObject>executeBlocking(
                  () -> {
                    try {
                      return join(body);
                    } finally {
                      reviews.release();
                    }
                  },
                  false)
              .onSuccess(
                  answer ->
                      req.response()
                          .putHeader("content-type", "application/json")
                          .end(answer.encode()))
              .onFailure(t -> refuse(req, t instanceof JoinRefused r ? r : failed(t)));
        });
  }

  /** An unexpected failure: logged in full here, told to the caller without details. */
  private static JoinRefused failed(Throwable t) {
    LOG.errorf(t, "join failed");
    return new JoinRefused(500, "the join failed on the identity service; retry");
  }

  private JsonObject join(Buffer body) {
    JsonObject request;
    try {
      request = new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      throw new JoinRefused(400, "the request is not a JSON object");
    }
    String token = text(request, "token");
    PublicKey key = publicKey(text(request, "publicKey"));
    if (!revocationsRead.getAsBoolean()) {
      throw new JoinRefused(503, "the deny list is not read yet; retry");
    }
    Joiner joiner = verifier.verify(token);
    PeerIdentity id = joiner.identity();
    var revoked = revocations.revokedAt(id);
    if (revoked.isPresent()
        && records.readmittedAt(id).filter(at -> at.isAfter(revoked.get())).isEmpty()) {
      throw new JoinRefused(
          403,
          id
              + " was revoked at "
              + revoked.get()
              + ": it joins again once an admin re-admits it (porin ca readmit)");
    }
    records.claim(joiner.podUid(), joiner.podName(), id, key);
    admitted.accept(id);
    List<java.security.cert.X509Certificate> chain = ca.issue(id, key);
    LOG.infof("joined: %s", id);
    return new JsonObject().put("identity", id.uri()).put("certificates", Pem.encode(chain, null));
  }

  private static String text(JsonObject request, String field) {
    Object v = request.getValue(field);
    if (!(v instanceof String s) || s.isEmpty() || s.length() > 8192) {
      throw new JoinRefused(400, field + ": a non-empty string of at most 8192 characters");
    }
    return s;
  }

  static PublicKey publicKey(String base64) {
    try {
      PublicKey key =
          KeyFactory.getInstance("EC")
              .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
      if (key instanceof ECPublicKey ec
          && ec.getParams().getCurve().getField().getFieldSize() == 256) {
        return key;
      }
    } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
      // refused below
    }
    throw new JoinRefused(400, "publicKey: not a base64 DER EC P-256 public key");
  }

  private static void refuse(HttpServerRequest req, JoinRefused r) {
    if (r.status() >= 500) {
      LOG.warnf("join failed: %s", r.getMessage());
    } else {
      LOG.warnf("join refused (%d) from %s: %s", r.status(), req.remoteAddress(), r.getMessage());
    }
    if (!req.response().ended()) {
      req.response()
          .setStatusCode(r.status())
          .putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", r.getMessage()).encode());
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }
}
