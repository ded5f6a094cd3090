package io.porin.agent.endpoint;

/** Where an endpoint's enforcement stands, as {@code porin endpoint list} shows it. */
public sealed interface EndpointState {
  /** The state's name in the CLI and the {@code cilium_endpoint_state} metric. */
  String name();

  /** Why the endpoint is in this state (empty when ready). */
  String detail();

  /** Enforcing its identity's policy. */
  record Ready() implements EndpointState {
    @Override
    public String name() {
      return "ready";
    }

    @Override
    public String detail() {
      return "";
    }
  }

  /**
   * Its identity's policy is not known yet: locked down (all traffic denied), or restored and still
   * enforcing the previous run's maps until the stream syncs.
   */
  record WaitingForPolicy(String detail) implements EndpointState {
    @Override
    public String name() {
      return "waiting-for-policy";
    }
  }

  /** The policy does not fit the endpoint's policy map: locked down until it does. */
  record PolicyOverflow(String detail) implements EndpointState {
    @Override
    public String name() {
      return "policy-overflow";
    }
  }

  EndpointState READY = new Ready();

  /** Every state's name, for metrics. */
  java.util.List<String> NAMES =
      java.util.List.of("ready", "waiting-for-policy", "policy-overflow");
}
