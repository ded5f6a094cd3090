package io.porin.core.policy;

import java.util.Locale;
import java.util.Optional;

/** Cilium's {@code enable-policy}: when endpoints are default deny. */
public enum EnforcementMode {
  /** Per endpoint and direction: default deny once a selecting policy has that section. */
  DEFAULT,
  /** Every endpoint is default deny in both directions, with or without policies. */
  ALWAYS,
  /** Nothing is enforced, deny rules included. */
  NEVER;

  public static Optional<EnforcementMode> parse(String text) {
    try {
      return Optional.of(valueOf(text.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
