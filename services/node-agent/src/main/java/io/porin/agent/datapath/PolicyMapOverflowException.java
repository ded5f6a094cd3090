package io.porin.agent.datapath;

/** An endpoint's policy needs more entries than its policy map holds: nothing was written. */
public final class PolicyMapOverflowException extends RuntimeException {
  public PolicyMapOverflowException(int endpointId, int needed, int capacity) {
    super(
        "endpoint "
            + endpointId
            + " needs "
            + needed
            + " policy map entries, the map holds "
            + capacity);
  }
}
