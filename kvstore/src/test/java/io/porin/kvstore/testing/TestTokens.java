package io.porin.kvstore.testing;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Tokens shaped as the Kubernetes API server issues them (JWTs) for tests whose API server is the
 * fabric8 mock: their claims are real (audience, expiry), their signature is not (the mock's
 * scripted TokenReview decides).
 */
public final class TestTokens {
  private TestTokens() {}

  /** A token for {@code audience}, named {@code subject}, expiring in {@code seconds}. */
  public static String jwt(String subject, String audience, long seconds) {
    var enc = Base64.getUrlEncoder().withoutPadding();
    String claims =
        "{\"aud\":[\""
            + audience
            + "\"],\"exp\":"
            + (Instant.now().getEpochSecond() + seconds)
            + ",\"sub\":\""
            + subject
            + "\"}";
    return enc.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8))
        + "."
        + enc.encodeToString(claims.getBytes(StandardCharsets.UTF_8))
        + ".c2lnbmF0dXJl";
  }
}
