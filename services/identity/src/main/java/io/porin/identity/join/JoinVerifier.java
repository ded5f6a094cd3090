package io.porin.identity.join;

/** Turns a join token into the identity it proves, or refuses it. */
@FunctionalInterface
public interface JoinVerifier {
  /**
   * @throws JoinRefused when the token proves no identity of this cluster
   */
  Joiner verify(String token);
}
