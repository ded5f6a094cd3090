package io.porin.service.tls;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.tls.PeerIdentity;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Every gRPC call of every service passes here first: the caller's certificate (checked at the
 * handshake) becomes a {@link Caller}; a certificate revoked since the connection was made is
 * refused; the service's {@link AccessRules} decide whether that kind of caller may call the
 * method; the call is tracked so that revoking its caller ends it.
 */
@ApplicationScoped
@GlobalInterceptor
public class CallerInterceptor implements ServerInterceptor {
  private final ServiceTls tls;
  private final AccessRules rules;
  private final Authorization authorization;
  private final LiveCalls live;
  private final RevocationWatch revocations;

  public CallerInterceptor(
      ServiceTls tls,
      AccessRules rules,
      Authorization authorization,
      LiveCalls live,
      RevocationWatch revocations) {
    this.revocations = revocations;
    this.tls = tls;
    this.rules = rules;
    this.authorization = authorization;
    this.live = live;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Caller caller;
    if (tls.insecure()) {
      caller = Caller.INSECURE;
    } else {
      Optional<X509Certificate> leaf = peerCertificate(call);
      Optional<PeerIdentity> id = leaf.flatMap(PeerIdentity::of);
      if (id.isEmpty()) {
        return refuse(
            call,
            Status.UNAUTHENTICATED.withDescription(
                "no client certificate of this cluster on the connection"));
      }
      caller = new Caller(id.get(), leaf.get());
      if (!revocations.ready()) {
        // until the deny list is read, a revoked certificate could not be told apart
        return refuse(
            call, Status.UNAVAILABLE.withDescription("starting: the deny list is not read yet"));
      }
      try {
        leaf.get().checkValidity();
      } catch (java.security.cert.CertificateException e) {
        // the handshake checked it; a connection can outlive it
        return refuse(
            call,
            Status.UNAUTHENTICATED.withDescription(
                "the certificate of "
                    + id.get()
                    + " expired at "
                    + leaf.get().getNotAfter().toInstant()));
      }
      if (tls.cluster().orElseThrow().revocations().isRevoked(id.get(), leaf.get())) {
        return refuse(
            call,
            authorization.deny(
                caller, "call " + method + " (its certificate was revoked)", method));
      }
    }
    if (!rules.allowed(method).contains(caller.kind())) {
      return refuse(call, authorization.deny(caller, "call " + method, method));
    }
    Context ctx = Context.current().withValue(Caller.KEY, caller);
    return live.track(call, caller, c -> Contexts.interceptCall(ctx, c, headers, next));
  }

  private static <Q, R> Optional<X509Certificate> peerCertificate(ServerCall<Q, R> call) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      var chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x
          ? Optional.of(x)
          : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(
      ServerCall<Q, R> call, StatusRuntimeException e) {
    return refuse(call, e.getStatus());
  }
}
