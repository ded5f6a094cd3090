package io.porin.service.tls;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

/**
 * Refusals by certificate identity: PERMISSION_DENIED naming the certificate and the action, a log
 * line, and {@code porin_authz_denied_total{caller_kind,action}}.
 */
@Singleton
public class Authorization {
  private static final Logger LOG = Logger.getLogger(Authorization.class);

  private final MeterRegistry registry;

  public Authorization(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Refuses unless the current caller is the agent of {@code node} (or an admin). */
  public void requireNode(String node, String action) {
    Caller c = Caller.current();
    if (c.kind() == io.porin.tls.PeerIdentity.Kind.ADMIN || c.isNode(node)) {
      return;
    }
    throw deny(c, action + " for node " + node, action);
  }

  /**
   * Refuses a node agent acting for another node; services and admins act for any node (readers
   * never reach a write: the access rules stop them).
   */
  public void requireSelfIfNode(String node, String action) {
    requireSelfIfNode(Caller.current(), node, action);
  }

  /** As {@link #requireSelfIfNode(String, String)}, for a caller read earlier. */
  public void requireSelfIfNode(Caller c, String node, String action) {
    if (c.kind() == io.porin.tls.PeerIdentity.Kind.NODE && !c.isNode(node)) {
      throw deny(c, action + " for node " + node, action);
    }
  }

  /**
   * Counts and logs a refusal; the exception to answer with.
   *
   * @param action what was refused, in words (for the message)
   * @param tag the action's kind, for the metric (a method or a verb, never a name)
   */
  public StatusRuntimeException deny(Caller c, String action, String tag) {
    Counter.builder("porin.authz.denied")
        .description("Calls refused by certificate identity")
        .tag("caller_kind", c.kind().label())
        .tag("action", tag)
        .register(registry)
        .increment();
    String message = "the certificate of " + c.name() + " may not " + action;
    LOG.warnf("refused: %s", message);
    return Status.PERMISSION_DENIED.withDescription(message).asRuntimeException();
  }

  /** The number of refusals so far (all kinds and actions). */
  public double deniedCount() {
    return registry.find("porin.authz.denied").counters().stream()
        .mapToDouble(Counter::count)
        .sum();
  }
}
