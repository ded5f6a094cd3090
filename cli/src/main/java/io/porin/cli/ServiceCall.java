package io.porin.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.AbstractStub;
import io.porin.cli.context.ContextTls;
import io.porin.cli.context.Contexts;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;

/** One call to a Porin service, with errors turned into a message and an exit code. */
public final class ServiceCall {
  private ServiceCall() {}

  /** Exit code when the service answered with an error or could not be reached. */
  public static final int FAILED = 1;

  /** How long one CLI call may take. */
  private static final long DEADLINE_SECONDS = 30;

  /** A Porin service the CLI talks to, and where the context says it is. */
  public enum Service {
    IDENTITY("identity", "identity") {
      @Override
      String address(Contexts.Context c) {
        return c.identity();
      }
    },
    IPAM("ipam", "ipam") {
      @Override
      String address(Contexts.Context c) {
        return c.ipam();
      }
    },
    POLICY("policy", "policy") {
      @Override
      String address(Contexts.Context c) {
        return c.policy();
      }
    },
    AGENT("node agent", "agent") {
      @Override
      String address(Contexts.Context c) {
        return c.agent();
      }
    },
    RELAY("relay", "relay") {
      @Override
      String address(Contexts.Context c) {
        return c.relay();
      }
    },
    /** Beside the identity service (its host), on 9406. */
    CLUSTERMESH("clustermesh", "clustermesh") {
      @Override
      String address(Contexts.Context c) {
        String id = c.identity();
        return id.substring(0, id.lastIndexOf(':')) + ":9406";
      }
    };

    private final String label;
    private final String tlsName;

    Service(String label, String tlsName) {
      this.label = label;
      this.tlsName = tlsName;
    }

    /** The name its certificate carries ({@code svc/<name>}; {@code agent}: any node's agent). */
    public String tlsName() {
      return tlsName;
    }

    abstract String address(Contexts.Context c);
  }

  /**
   * Calls a service of the invocation's context ({@code --context}, {@code $PORIN_CONTEXT} or the
   * current one).
   */
  public static <S extends AbstractStub<S>> int run(
      CommandSpec spec,
      Service service,
      Function<ManagedChannel, S> stubOf,
      Function<S, Integer> body) {
    return run(spec, service, stubOf, Duration.ofSeconds(DEADLINE_SECONDS), body);
  }

  /** As {@link #run(CommandSpec, Service, Function, Function)}, with a longer deadline. */
  public static <S extends AbstractStub<S>> int run(
      CommandSpec spec,
      Service service,
      Function<ManagedChannel, S> stubOf,
      Duration deadline,
      Function<S, Integer> body) {
    Contexts.Named ctx = GlobalOptions.of(spec).context();
    return run(
        service,
        service == Service.AGENT
            ? GlobalOptions.of(spec).agentAddress()
            : service.address(ctx.context()),
        ctx,
        spec.commandLine().getErr(),
        channel ->
            body.apply(
                stubOf
                    .apply(channel)
                    .withDeadlineAfter(
                        Math.max(deadline.toMillis(), DEADLINE_SECONDS * 1000),
                        TimeUnit.MILLISECONDS)));
  }

  /**
   * Opens a channel to {@code target} (host:port), runs {@code body}, closes the channel.
   *
   * @return the body's exit code, or {@link #FAILED} after printing what went wrong
   */
  public static int run(
      Service which,
      String target,
      Contexts.Named ctx,
      PrintWriter err,
      Function<ManagedChannel, Integer> body) {
    String service = which.label;
    String context = ctx.name();
    ManagedChannel channel;
    try {
      channel = ContextTls.channel(ctx.context(), target, which.tlsName);
    } catch (RuntimeException e) {
      err.println("porin: context \"" + context + "\": " + e.getMessage());
      err.flush();
      return FAILED;
    }
    try {
      return body.apply(channel);
    } catch (StatusRuntimeException e) {
      String what =
          switch (e.getStatus().getCode()) {
            case UNAVAILABLE ->
                "cannot reach the "
                    + service
                    + " service at "
                    + target
                    + (tlsFailure(e) ? " over mutual TLS" : "");
            case DEADLINE_EXCEEDED ->
                "the " + service + " service at " + target + " did not answer in time";
            default -> "the " + service + " service at " + target + " answered";
          };
      err.println(
          "porin: "
              + what
              + " (context \""
              + context
              + "\"): "
              + e.getStatus().getCode()
              + (e.getStatus().getDescription() != null
                  ? ": " + e.getStatus().getDescription()
                  : ""));
      err.flush();
      return FAILED;
    } finally {
      channel.shutdownNow();
      try {
        channel.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Whether a failure came from the TLS handshake (a certificate refused on either side). */
  static boolean tlsFailure(StatusRuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException
          || t instanceof java.security.cert.CertificateException) {
        return true;
      }
    }
    return false;
  }
}
