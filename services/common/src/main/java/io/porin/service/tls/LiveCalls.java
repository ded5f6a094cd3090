package io.porin.service.tls;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.porin.tls.Revocations;
import jakarta.inject.Singleton;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * The calls in progress, with their callers, so that revoking a certificate also ends the streams
 * its holder already has open (a policy subscription lives for days). Sends and the close of a
 * tracked call are serialized, as gRPC requires of a call used from two threads.
 */
@Singleton
public class LiveCalls {
  private static final Logger LOG = Logger.getLogger(LiveCalls.class);

  private final Set<Tracked<?, ?>> calls = ConcurrentHashMap.newKeySet();

  public LiveCalls() {
    // a stream outlives its caller's certificate only until the certificate expires
    Thread.ofVirtual()
        .name("live-calls-expiry")
        .start(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  Thread.sleep(5_000);
                } catch (InterruptedException e) {
                  return;
                }
                endExpired(java.time.Instant.now());
              }
            });
  }

  /** Ends every call whose caller's certificate expired before {@code now}. */
  public void endExpired(java.time.Instant now) {
    for (Tracked<?, ?> t : calls) {
      Caller c = t.caller;
      if (c.certificate() != null && c.certificate().getNotAfter().toInstant().isBefore(now)) {
        LOG.infof(
            "ending %s of %s: its certificate expired",
            t.getMethodDescriptor().getFullMethodName(), c.name());
        t.end(
            Status.UNAUTHENTICATED.withDescription(
                "the certificate of " + c.name() + " expired; reconnect with the renewed one"));
        calls.remove(t);
      }
    }
  }

  /** Calls in progress. */
  public int size() {
    return calls.size();
  }

  <Q, R> ServerCall.Listener<Q> track(
      ServerCall<Q, R> call,
      Caller caller,
      Function<ServerCall<Q, R>, ServerCall.Listener<Q>> next) {
    Tracked<Q, R> t = new Tracked<>(call, caller);
    calls.add(t);
    ServerCall.Listener<Q> inner;
    try {
      inner = next.apply(t);
    } catch (RuntimeException e) {
      calls.remove(t);
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(inner) {
      @Override
      public void onComplete() {
        calls.remove(t);
        super.onComplete();
      }

      @Override
      public void onCancel() {
        calls.remove(t);
        super.onCancel();
      }
    };
  }

  /** Ends every call whose caller's certificate {@code r} revokes. */
  public void endRevoked(Revocations r) {
    for (Tracked<?, ?> t : calls) {
      Caller c = t.caller;
      if (c.identity() != null && r.isRevoked(c.identity(), c.certificate())) {
        LOG.warnf(
            "ending %s of %s: its certificate was revoked",
            t.getMethodDescriptor().getFullMethodName(), c.name());
        t.end(
            Status.PERMISSION_DENIED.withDescription(
                "the certificate of " + c.name() + " was revoked"));
        calls.remove(t);
      }
    }
  }

  private static final class Tracked<Q, R>
      extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private final Caller caller;
    private boolean closed;

    Tracked(ServerCall<Q, R> delegate, Caller caller) {
      super(delegate);
      this.caller = caller;
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) {
        super.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (!closed) {
        super.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        super.close(status, trailers);
      }
    }

    synchronized void end(Status status) {
      close(status, new Metadata());
    }
  }
}
