package io.porin.agent.endpoint;

/** The node holds as many endpoints as its maps can. */
public final class EndpointsExhaustedException extends RuntimeException {
  public EndpointsExhaustedException(int count) {
    super("this node has " + count + " endpoints, the most it can hold");
  }
}
