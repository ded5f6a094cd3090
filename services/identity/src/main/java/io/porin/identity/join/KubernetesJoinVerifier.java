package io.porin.identity.join;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.porin.tls.PeerIdentity;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A join token is a Kubernetes service account token projected into a Porin pod, bound to that pod
 * and to the audience {@code porin}. The API server checks it (TokenReview); the service account
 * says which component the pod is ({@code porin-agent}: a node agent; {@code porin-<service>}: that
 * service), and the pod it is bound to, read back and matched by UID, says which node an agent runs
 * on. A token of any other account, namespace or audience, one not bound to a pod, or bound to a
 * pod that is gone or has another UID proves nothing.
 */
public final class KubernetesJoinVerifier implements JoinVerifier {
  private static final org.jboss.logging.Logger LOG =
      org.jboss.logging.Logger.getLogger(KubernetesJoinVerifier.class);
  static final String POD_NAME = "authentication.kubernetes.io/pod-name";
  static final String POD_UID = "authentication.kubernetes.io/pod-uid";
  static final String AGENT_ACCOUNT = "porin-agent";
  static final Set<String> SERVICES = Set.of("ipam", "policy", "relay", "clustermesh");
  static final String CONTROL_PLANE = "node-role.kubernetes.io/control-plane";

  private final KubernetesClient client;
  private final String namespace;
  private final String audience;

  /**
   * @param namespace Porin's namespace: only its service accounts join
   * @param audience the audience the tokens must be issued for
   */
  public KubernetesJoinVerifier(KubernetesClient client, String namespace, String audience) {
    this.client = client;
    this.namespace = namespace;
    this.audience = audience;
  }

  @Override
  public Joiner verify(String token) {
    precheck(token);
    TokenReview review;
    try {
      review =
          client
              .resource(
                  new TokenReviewBuilder()
                      .withNewSpec()
                      .withToken(token)
                      .withAudiences(audience)
                      .endSpec()
                      .build())
              .create();
    } catch (KubernetesClientException e) {
      LOG.warnf("TokenReview failed: %s", e.getMessage());
      throw new JoinRefused(503, "the token could not be reviewed now; retry");
    }
    var status = review == null ? null : review.getStatus();
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String why = status == null || status.getError() == null ? "" : ": " + status.getError();
      throw new JoinRefused(403, "the token is not valid" + why);
    }
    if (status.getAudiences() == null || !status.getAudiences().contains(audience)) {
      throw new JoinRefused(403, "the token is not issued for the audience " + audience);
    }
    UserInfo user = status.getUser();
    String prefix = "system:serviceaccount:" + namespace + ":";
    String name = user == null ? null : user.getUsername();
    if (name == null || !name.startsWith(prefix)) {
      throw new JoinRefused(
          403, "the token is " + name + "'s, not a service account's of namespace " + namespace);
    }
    String account = name.substring(prefix.length());
    boolean agent = account.equals(AGENT_ACCOUNT);
    if (!agent && !(account.startsWith("porin-") && SERVICES.contains(account.substring(6)))) {
      throw new JoinRefused(
          403, "service account " + account + " is not one of Porin's components");
    }
    Pod pod = boundPod(user, account);
    String podName = pod.getMetadata().getName();
    String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    if (nodeName == null || nodeName.isEmpty()) {
      throw new JoinRefused(403, "pod " + podName + " is on no node yet");
    }
    Node node;
    try {
      node = client.nodes().withName(nodeName).get();
    } catch (KubernetesClientException e) {
      LOG.warnf("reading node %s failed: %s", nodeName, e.getMessage());
      throw new JoinRefused(503, "node " + nodeName + " could not be read now; retry");
    }
    if (node == null) {
      throw new JoinRefused(403, "pod " + podName + "'s node " + nodeName + " does not exist");
    }
    PeerIdentity id;
    if (agent) {
      try {
        id = PeerIdentity.node(nodeName);
      } catch (IllegalArgumentException e) {
        throw new JoinRefused(
            403, "node name " + nodeName + " cannot be an identity: " + e.getMessage());
      }
    } else {
      var labels = node.getMetadata().getLabels();
      if (labels == null || !labels.containsKey(CONTROL_PLANE)) {
        throw new JoinRefused(
            403,
            "pod "
                + podName
                + " runs on "
                + nodeName
                + ", not a control-plane node: Porin's services join from control-plane nodes"
                + " only");
      }
      id = PeerIdentity.service(account.substring(6));
    }
    return new Joiner(id, podName, pod.getMetadata().getUid());
  }

  /**
   * Refuses, without asking the API server, what cannot be a projected token for this audience: not
   * a JWT, another audience, or expired. The API server still decides; this only keeps junk from
   * becoming TokenReviews.
   */
  void precheck(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new JoinRefused(403, "the token is not a JWT");
    }
    io.vertx.core.json.JsonObject claims;
    try {
      claims =
          new io.vertx.core.json.JsonObject(
              new String(
                  java.util.Base64.getUrlDecoder().decode(parts[1]),
                  java.nio.charset.StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw new JoinRefused(403, "the token is not a JWT");
    }
    Object aud = claims.getValue("aud");
    boolean forUs =
        audience.equals(aud)
            || (aud instanceof io.vertx.core.json.JsonArray a && a.contains(audience));
    if (!forUs) {
      throw new JoinRefused(403, "the token is not issued for the audience " + audience);
    }
    Object exp = claims.getValue("exp");
    if (!(exp instanceof Number n) || n.longValue() * 1000 < System.currentTimeMillis()) {
      throw new JoinRefused(403, "the token has expired");
    }
  }

  /** The pod the token is bound to, which must still exist with that UID and account. */
  private Pod boundPod(UserInfo user, String account) {
    Map<String, List<String>> extra = user.getExtra() == null ? Map.of() : user.getExtra();
    String podName = single(extra.get(POD_NAME));
    String podUid = single(extra.get(POD_UID));
    if (podName == null || podUid == null) {
      throw new JoinRefused(
          403, "the token is not bound to a pod (use a projected service account token)");
    }
    Pod pod;
    try {
      pod = client.pods().inNamespace(namespace).withName(podName).get();
    } catch (KubernetesClientException e) {
      LOG.warnf("reading pod %s failed: %s", podName, e.getMessage());
      throw new JoinRefused(503, "pod " + podName + " could not be read now; retry");
    }
    if (pod == null || !podUid.equals(pod.getMetadata().getUid())) {
      throw new JoinRefused(403, "the token's pod " + podName + " (uid " + podUid + ") is gone");
    }
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      throw new JoinRefused(403, "the token's pod " + podName + " is terminating");
    }
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
      throw new JoinRefused(403, "the token's pod " + podName + " has finished (" + phase + ")");
    }
    String podAccount = pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
    if (!account.equals(podAccount)) {
      throw new JoinRefused(
          403, "pod " + podName + " runs as " + podAccount + ", not as " + account);
    }
    return pod;
  }

  private static String single(List<String> values) {
    return values == null || values.size() != 1 ? null : values.getFirst();
  }
}
