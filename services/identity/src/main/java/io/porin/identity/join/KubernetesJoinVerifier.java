package io.porin.identity.join;

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
  static final String POD_NAME = "authentication.kubernetes.io/pod-name";
  static final String POD_UID = "authentication.kubernetes.io/pod-uid";
  static final String AGENT_ACCOUNT = "porin-agent";
  static final Set<String> SERVICES = Set.of("ipam", "policy", "relay", "clustermesh", "dns");

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
  public PeerIdentity verify(String token) {
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
      throw new JoinRefused(503, "the token could not be reviewed: " + e.getMessage());
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
    Pod pod = boundPod(user, account);
    if (account.equals(AGENT_ACCOUNT)) {
      String node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
      if (node == null || node.isEmpty()) {
        throw new JoinRefused(403, "pod " + pod.getMetadata().getName() + " is on no node yet");
      }
      return PeerIdentity.node(node);
    }
    if (account.startsWith("porin-") && SERVICES.contains(account.substring(6))) {
      return PeerIdentity.service(account.substring(6));
    }
    throw new JoinRefused(403, "service account " + account + " is not one of Porin's components");
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
      throw new JoinRefused(503, "pod " + podName + " could not be read: " + e.getMessage());
    }
    if (pod == null || !podUid.equals(pod.getMetadata().getUid())) {
      throw new JoinRefused(403, "the token's pod " + podName + " (uid " + podUid + ") is gone");
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
