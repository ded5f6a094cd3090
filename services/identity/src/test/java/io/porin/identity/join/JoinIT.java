package io.porin.identity.join;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.porin.identity.ca.OnlineCa;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.kvstore.testing.TestPki;
import io.porin.service.tls.JoinClient;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import io.porin.tls.TlsException;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Joining, for real but for the API server: the identity service's join port (its own certificate
 * of a test CA), the component's {@link JoinClient}, a TLS etcd with access control still off
 * (turned on by the admissions), and the fabric8 mock API server in CRUD mode, whose TokenReview
 * answers are scripted per token (no API server exists here to review tokens).
 */
@EnableKubernetesMockClient(crud = true)
class JoinIT {
  static final String NS = "porin-system";
  static KubernetesMockServer server;
  static KubernetesClient client;

  /**
   * token subject -> (username, audiences, pod name, pod uid); absent ones are not authenticated.
   */
  static final Map<String, ScriptedTokenReviews.Who> TOKENS = new ConcurrentHashMap<>();

  static TestPki pki;
  static EtcdProcess etcd;
  static Vertx vertx;
  static JoinServer join;
  static EtcdAdmissions admissions;
  static volatile Optional<Instant> revokedN9 = Optional.empty();
  static volatile boolean denyListRead = true;
  static KvStore identityKv;
  static Path work;

  @BeforeAll
  static void start() throws Exception {
    pki = TestPki.named("join");
    etcd = EtcdProcess.startTls("join", pki);
    work = Files.createTempDirectory(Path.of("target"), "join-");
    ScriptedTokenReviews.answer(
        server.expect(), token -> Optional.ofNullable(TOKENS.get(subject(token))));
    node("n7", false);
    node("n9", false);
    node("cp1", true);
    String uid1 = pod("porin-agent-abcde", "porin-agent", "n7");
    String uid2 = pod("porin-agent-fghij", "porin-agent", "n9");
    String uid3 = pod("porin-policy-1", "porin-policy", "cp1");
    String uid4 = pod("porin-agent-pending", "porin-agent", null);
    String uid5 = pod("debug", "default", "n7");
    String uid6 = pod("porin-relay-on-worker", "porin-relay", "n7");
    String uid7 = pod("porin-agent-ghost", "porin-agent", "n-gone");
    assertThat(List.of(uid1, uid2, uid3, uid4)).doesNotContainNull().doesNotHaveDuplicates();
    assertThat(uid5).isNotNull();
    token("agent-n7", "porin-agent", "porin", "porin-agent-abcde", uid1);
    token("agent-n9", "porin-agent", "porin", "porin-agent-fghij", uid2);
    token("policy", "porin-policy", "porin", "porin-policy-1", uid3);
    token("pending", "porin-agent", "porin", "porin-agent-pending", uid4);
    token("audience", "porin-agent", "https://kubernetes.default.svc", "porin-agent-abcde", uid1);
    token("unbound", "porin-agent", "porin", null, null);
    token("stale-uid", "porin-agent", "porin", "porin-agent-abcde", "uid-of-an-earlier-pod");
    token("other-account", "porin-agent", "porin", "porin-policy-1", uid3);
    token("default-sa", "default", "porin", "debug", uid5);
    token("relay-on-worker", "porin-relay", "porin", "porin-relay-on-worker", uid6);
    token("ghost-node", "porin-agent", "porin", "porin-agent-ghost", uid7);
    TOKENS.put(
        "other-ns",
        ScriptedTokenReviews.Who.account("kube-system", "porin-agent", "porin", "x", "y"));

    vertx = Vertx.vertx();
    admissions =
        EtcdAdmissions.start(
            pki.ca(), pki.caFile(), List.of(etcd.endpoint()), Duration.ofSeconds(5));
    ClusterTls identityTls = pki.tls(PeerIdentity.service("identity"));
    identityKv = KvStore.connect(List.of(etcd.endpoint()), Duration.ofSeconds(5), identityTls);
    join =
        new JoinServer(
                vertx,
                new KubernetesJoinVerifier(client, NS, "porin"),
                new OnlineCa(Optional.of(pki.ca()), Duration.ofHours(1)),
                identityTls,
                id -> id.equals(PeerIdentity.node("n9")) ? revokedN9 : Optional.empty(),
                () -> denyListRead,
                new JoinRecords(identityKv, Duration.ofMinutes(5)),
                admissions::admit)
            .start("127.0.0.1", 0);
  }

  @AfterAll
  static void stop() {
    if (join != null) {
      join.close();
    }
    if (admissions != null) {
      admissions.close();
    }
    if (identityKv != null) {
      identityKv.close();
    }
    if (vertx != null) {
      vertx.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  /** Creates a pod; returns the UID the API server gave it. */
  static String pod(String name, String account, String node) {
    return client
        .pods()
        .inNamespace(NS)
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName(name)
                .endMetadata()
                .withNewSpec()
                .withServiceAccountName(account)
                .withNodeName(node)
                .endSpec()
                .build())
        .create()
        .getMetadata()
        .getUid();
  }

  static void node(String name, boolean controlPlane) {
    var b = new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName(name);
    if (controlPlane) {
      b = b.addToLabels(KubernetesJoinVerifier.CONTROL_PLANE, "");
    }
    client.nodes().resource(b.endMetadata().build()).create();
  }

  /** The token's subject (the tests' tokens are named by it), or null for what is no JWT. */
  static String subject(String token) {
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    return new io.vertx.core.json.JsonObject(
            new String(java.util.Base64.getUrlDecoder().decode(parts[1])))
        .getString("sub");
  }

  static void token(String token, String account, String audience, String pod, String uid) {
    TOKENS.put(token, ScriptedTokenReviews.Who.account(NS, account, audience, pod, uid));
  }

  /** Joins with {@code token}; returns the bundle written. */
  static Path joinWith(String token) throws Exception {
    return joinWithText(
        token.startsWith("raw:")
            ? token.substring(4)
            : io.porin.kvstore.testing.TestTokens.jwt(
                token,
                token.equals("audience") ? "https://kubernetes.default.svc" : "porin",
                token.equals("expired") ? -60 : 600));
  }

  static Path joinWithText(String text) throws Exception {
    String token = Integer.toHexString(text.hashCode());
    Path tokenFile = Files.createTempFile(work, "token-", "");
    Files.writeString(tokenFile, text + "\n");
    Path bundle = work.resolve("bundle-" + token + "-" + System.nanoTime() + ".pem");
    new JoinClient(
            "127.0.0.1:" + join.port(), tokenFile, pki.caFile(), Duration.ofSeconds(5), m -> {})
        .obtain(bundle);
    return bundle;
  }

  @Test
  void anAgentJoinsAsTheNodeItsPodRunsOnAndMayWriteThatNodesKeysInEtcdOnly() throws Exception {
    Path bundle = joinWith("agent-n7");
    assertThat(Files.getPosixFilePermissions(bundle).toString())
        .isEqualTo("[OWNER_READ, OWNER_WRITE]");
    ClusterTls tls = ClusterTls.load(pki.caFile(), bundle, bundle);
    assertThat(tls.self()).isEqualTo(PeerIdentity.node("n7"));
    assertThat(tls.notAfter()).isBefore(Instant.now().plus(Duration.ofHours(1).plusMinutes(1)));
    // a pod joins once: its token again (leaked, say) with another key gets nothing
    assertThatThrownBy(() -> joinWith("agent-n7"))
        .hasMessageContaining(
            "pod porin-agent-abcde has joined already (as spiffe://porin/node/n7)");
    try (KvStore kv = KvStore.connect(List.of(etcd.endpoint()), Duration.ofSeconds(5), tls)) {
      kv.put("/porin/v1/nodes/n7", "{}", 0);
      assertThatThrownBy(() -> kv.put("/porin/v1/nodes/n8", "{}", 0))
          .isInstanceOf(KvStoreException.class);
    }
  }

  @Test
  void aServiceJoinsAsTheServiceItsAccountNames() throws Exception {
    Path bundle = joinWith("policy");
    assertThat(ClusterTls.load(pki.caFile(), bundle, bundle).self())
        .isEqualTo(PeerIdentity.service("policy"));
  }

  @Test
  void tokensThatProveNoComponentAreRefusedWithTheReason() {
    Map<String, String> refusals = new java.util.LinkedHashMap<>();
    refusals.put("forged", "the token is not valid");
    refusals.put("audience", "not issued for the audience porin");
    refusals.put("unbound", "not bound to a pod");
    refusals.put("stale-uid", "is gone");
    refusals.put("other-account", "runs as porin-policy, not as porin-agent");
    refusals.put("default-sa", "service account default is not one of Porin's components");
    refusals.put("other-ns", "not a service account's of namespace porin-system");
    refusals.put("pending", "is on no node yet");
    refusals.put("relay-on-worker", "not a control-plane node");
    refusals.put("ghost-node", "node n-gone does not exist");
    refusals.put("expired", "the token has expired");
    refusals.put("raw:not-a-jwt", "the token is not a JWT");
    refusals.forEach(
        (token, why) ->
            assertThatThrownBy(() -> joinWith(token))
                .as(token)
                .isInstanceOf(TlsException.class)
                .hasMessageContaining("refused (403")
                .hasMessageContaining(why));
  }

  @Test
  void nothingJoinsBeforeTheDenyListIsRead() throws Exception {
    denyListRead = false;
    try {
      HttpClient http = insecureClient();
      var r =
          post(
              http,
              "https://127.0.0.1:" + join.port() + "/v1/join",
              new io.vertx.core.json.JsonObject()
                  .put("token", io.porin.kvstore.testing.TestTokens.jwt("agent-n9", "porin", 600))
                  .put(
                      "publicKey",
                      java.util.Base64.getEncoder()
                          .encodeToString(
                              io.porin.tls.CertificateAuthority.newKeyPair()
                                  .getPublic()
                                  .getEncoded()))
                  .encode());
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).contains("deny list is not read yet");
    } finally {
      denyListRead = true;
    }
  }

  @Test
  void aRevokedNodeJoinsAgainOnlyOnceReadmittedAndLosesItsEtcdUser() throws Exception {
    Instant revoked = Instant.now();
    revokedN9 = Optional.of(revoked);
    try {
      assertThatThrownBy(() -> joinWith("agent-n9"))
          .hasMessageContaining("node/n9 was revoked at")
          .hasMessageContaining("porin ca readmit");
      // a revoked node's etcd user goes (etcd itself knows no deny list)
      admissions.admit(PeerIdentity.node("n9"));
      admissions.removeRevoked(java.util.Set.of(PeerIdentity.node("n9")));
      try (KvStore n9 =
          KvStore.connect(
              List.of(etcd.endpoint()), Duration.ofSeconds(5), pki.tls(PeerIdentity.node("n9")))) {
        assertThatThrownBy(() -> n9.put("/porin/v1/nodes/n9", "{}", 0))
            .isInstanceOf(KvStoreException.class);
      }
      // a readmission from before the revocation changes nothing; one after it lets it join
      identityKv.put(
          io.porin.kvstore.Keys.Readmissions.of("node", "n9"),
          revoked.minusSeconds(5).toString(),
          0);
      assertThatThrownBy(() -> joinWith("agent-n9")).hasMessageContaining("was revoked at");
      identityKv.put(
          io.porin.kvstore.Keys.Readmissions.of("node", "n9"), Instant.now().toString(), 0);
      Path bundle = joinWith("agent-n9");
      assertThat(ClusterTls.load(pki.caFile(), bundle, bundle).self())
          .isEqualTo(PeerIdentity.node("n9"));
    } finally {
      revokedN9 = Optional.empty();
    }
  }

  @Test
  void malformedAndOversizedRequestsAreRefusedAndNothingElseIsServed() throws Exception {
    HttpClient http = insecureClient();
    String url = "https://127.0.0.1:" + join.port();
    assertThat(post(http, url + "/v1/join", "not json").statusCode()).isEqualTo(400);
    assertThat(post(http, url + "/v1/join", "{\"token\":\"agent-n7\",\"publicKey\":\"AAAA\"}"))
        .satisfies(
            r -> {
              assertThat(r.statusCode()).isEqualTo(400);
              assertThat(r.body()).contains("publicKey");
            });
    assertThat(post(http, url + "/v1/join", "{\"token\":7}").body()).contains("token:");
    assertThat(post(http, url + "/q/metrics", "{}").statusCode()).isEqualTo(404);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(URI.create(url + "/v1/join")).GET().build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(405);
    String huge = "{\"token\":\"" + "a".repeat(JoinServer.MAX_BODY) + "\"}";
    try {
      assertThat(post(insecureClient(), url + "/v1/join", huge).statusCode()).isEqualTo(413);
    } catch (java.io.IOException closed) {
      // the server may close the connection before the client has sent the whole body
    }
    // and the port still serves
    assertThat(post(insecureClient(), url + "/v1/join", "[]").statusCode()).isEqualTo(400);
  }

  @Test
  void closedConnectionsGiveTheirPlaceBack() throws Exception {
    // more connections, one after the other, than the port holds at once: each is served
    for (int i = 0; i < JoinServer.MAX_CONNECTIONS + 16; i++) {
      try (HttpClient http = insecureClient()) {
        assertThat(post(http, "https://127.0.0.1:" + join.port() + "/v1/join", "[]").statusCode())
            .as("connection %d", i)
            .isEqualTo(400);
      }
    }
  }

  @Test
  void aJoiningComponentTalksOnlyToTheIdentityServiceOfItsCa() throws Exception {
    // a server with another component's certificate of the same CA, as a rogue join port
    JoinServer rogue =
        new JoinServer(
                vertx,
                t -> new Joiner(PeerIdentity.node("n7"), "p", "u"),
                new OnlineCa(Optional.of(pki.ca()), Duration.ofHours(1)),
                pki.tls(PeerIdentity.service("policy")),
                io.porin.tls.Revocations.NONE,
                () -> true,
                new JoinRecords(identityKv, Duration.ofMinutes(5)),
                id -> {})
            .start("127.0.0.1", 0);
    try {
      Path tokenFile = Files.createTempFile(work, "token-", "");
      Files.writeString(tokenFile, "agent-n7");
      assertThatThrownBy(
              () ->
                  new JoinClient(
                          "127.0.0.1:" + rogue.port(),
                          tokenFile,
                          pki.caFile(),
                          Duration.ofSeconds(3),
                          m -> {})
                      .obtain(work.resolve("rogue.pem")))
          .isInstanceOf(TlsException.class)
          .hasMessageContaining("could not join");
      assertThat(work.resolve("rogue.pem")).doesNotExist();
    } finally {
      rogue.close();
    }
  }

  static HttpResponse<String> post(HttpClient http, String url, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A client that trusts any server: the malformed-input cases are about the server. */
  static HttpClient insecureClient() throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(
        null,
        new TrustManager[] {
          new X509TrustManager() {
            @Override
            public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {}

            @Override
            public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {}

            @Override
            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
              return new java.security.cert.X509Certificate[0];
            }
          }
        },
        null);
    var params = new javax.net.ssl.SSLParameters();
    params.setEndpointIdentificationAlgorithm(null);
    return HttpClient.newBuilder().sslContext(ctx).sslParameters(params).build();
  }
}
