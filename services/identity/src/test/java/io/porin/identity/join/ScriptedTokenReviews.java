package io.porin.identity.join;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.dsl.MockServerExpectation;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * TokenReviews answered by a script on the fabric8 mock API server (it reviews no tokens itself):
 * for each token, who it is (or nobody), as the API server would say it.
 */
public final class ScriptedTokenReviews {
  private ScriptedTokenReviews() {}

  /**
   * Who a token is: a service account's user name, the audiences it was issued for, and the pod it
   * is bound to ({@code podName} null: bound to none).
   */
  public record Who(String username, List<String> audiences, String podName, String podUid) {
    /** A token of {@code namespace/account}, for {@code audience}, bound to a pod. */
    public static Who account(
        String namespace, String account, String audience, String podName, String podUid) {
      return new Who(
          "system:serviceaccount:" + namespace + ":" + account, List.of(audience), podName, podUid);
    }
  }

  /**
   * From now on, every TokenReview posted to {@code expect}'s server is answered by {@code who}.
   */
  public static void answer(MockServerExpectation expect, Function<String, Optional<Who>> who) {
    expect
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReply(
            201,
            req -> {
              TokenReview asked =
                  Serialization.unmarshal(req.getBody().readUtf8(), TokenReview.class);
              var status = new TokenReviewBuilder(asked).withNewStatus();
              Optional<Who> w = who.apply(asked.getSpec().getToken());
              if (w.isEmpty()) {
                return status
                    .withAuthenticated(false)
                    .withError("invalid bearer token")
                    .endStatus()
                    .build();
              }
              var user =
                  status
                      .withAuthenticated(true)
                      .withAudiences(w.get().audiences())
                      .withNewUser()
                      .withUsername(w.get().username());
              if (w.get().podName() != null) {
                user =
                    user.addToExtra(KubernetesJoinVerifier.POD_NAME, List.of(w.get().podName()))
                        .addToExtra(KubernetesJoinVerifier.POD_UID, List.of(w.get().podUid()));
              }
              return user.endUser().endStatus().build();
            })
        .always();
  }
}
