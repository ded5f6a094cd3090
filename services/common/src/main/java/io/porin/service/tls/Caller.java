package io.porin.service.tls;

import io.grpc.Context;
import io.porin.tls.PeerIdentity;
import java.security.cert.X509Certificate;

/**
 * Who is calling: the identity its certificate proves (read at the handshake, before the call's
 * first asynchronous step), or the insecure development caller.
 *
 * @param identity null for the insecure caller
 * @param certificate null for the insecure caller
 */
public record Caller(PeerIdentity identity, X509Certificate certificate) {
  /** Every caller when {@code porin.tls.insecure=true}: treated as an admin. */
  public static final Caller INSECURE = new Caller(null, null);

  static final Context.Key<Caller> KEY = Context.key("porin-caller");

  /**
   * The caller of the current gRPC call (read it before the call's first asynchronous step).
   *
   * @throws io.grpc.StatusRuntimeException INTERNAL outside a call the interceptor saw: never taken
   *     as anyone, least of all as an admin
   */
  public static Caller current() {
    Caller c = KEY.get();
    if (c == null) {
      throw io.grpc.Status.INTERNAL
          .withDescription("no caller on this call (read outside the gRPC call's context)")
          .asRuntimeException();
    }
    return c;
  }

  /** The caller's kind; ADMIN for the insecure caller. */
  public PeerIdentity.Kind kind() {
    return identity == null ? PeerIdentity.Kind.ADMIN : identity.kind();
  }

  /** True when the caller is the node agent of {@code node}. */
  public boolean isNode(String node) {
    return identity != null
        && identity.kind() == PeerIdentity.Kind.NODE
        && identity.name().equals(node);
  }

  /** For messages and the audit log: {@code node/n1}, {@code admin/ops}, or {@code insecure}. */
  public String name() {
    return identity == null ? "insecure" : identity.toString();
  }

  /** Whether this caller is someone else than a node agent (what the audit log records). */
  public boolean isAgent() {
    return identity != null && identity.kind() == PeerIdentity.Kind.NODE;
  }
}
