package io.porin.agent.control;

import io.porin.core.policy.IdentityPolicy;
import java.util.Optional;
import java.util.Set;

/** The compiled policies of the identities this node hosts: {@link PolicySubscriber}. */
public interface PolicySource {
  /** An identity's policy, when the stream has delivered it. */
  Optional<IdentityPolicy> policy(int identity);

  /** The last synced policy revision. */
  long revision();

  /** The identities this node hosts changed: subscribe to exactly these. */
  void setIdentities(Set<Integer> hosted);
}
