package io.porin.agent.control;

import java.util.List;

/** The identity service as the agent uses it: references to label sets' identities. */
public interface IdentityClient {
  /** The identity of a label set, referenced by {@code owner} (idempotent per owner). */
  int allocate(List<String> labels, String owner);

  boolean release(int identity, String owner);

  /** Keeps the owner's references alive; returns their TTL in seconds (0 or less: lost). */
  long keepAlive(String owner);
}
