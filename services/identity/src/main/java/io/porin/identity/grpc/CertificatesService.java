package io.porin.identity.grpc;

import io.grpc.Status;
import io.porin.api.ca.v1.Certificates;
import io.porin.api.ca.v1.ListRevokedRequest;
import io.porin.api.ca.v1.ListRevokedResponse;
import io.porin.api.ca.v1.RenewRequest;
import io.porin.api.ca.v1.RenewResponse;
import io.porin.api.ca.v1.Revocation;
import io.porin.api.ca.v1.RevokeRequest;
import io.porin.api.ca.v1.RevokeResponse;
import io.porin.identity.ca.OnlineCa;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.GrpcCalls;
import io.porin.service.tls.AuditLog;
import io.porin.service.tls.Caller;
import io.porin.service.tls.RevocationWatch;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Pem;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/** {@code porin.ca.v1.Certificates}: renewals for every component, revocations by admins. */
@GrpcService
public class CertificatesService implements Certificates {
  private final OnlineCa ca;
  private final KvStore kv;
  private final AuditLog audit;
  private final RevocationWatch revocations;

  @Inject
  public CertificatesService(OnlineCa ca, KvStore kv, AuditLog audit, RevocationWatch revocations) {
    this.revocations = revocations;
    this.ca = ca;
    this.kv = kv;
    this.audit = audit;
  }

  @Override
  @Blocking
  public Uni<RenewResponse> renew(RenewRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          if (caller.identity() == null) {
            throw Status.FAILED_PRECONDITION
                .withDescription("this service runs with porin.tls.insecure: nothing to renew")
                .asRuntimeException();
          }
          // Read the deny list from etcd itself, not from this service's copy: a holder that
          // sees its revocation land must not slip a renewal in before this service hears of it
          PeerIdentity id = caller.identity();
          kv.get(Keys.Revocations.of(id.kind().label(), id.name()))
              .map(e -> RevocationWatch.decodeAt(e.value()))
              .filter(at -> !io.porin.tls.Revocations.issuedAt(caller.certificate()).isAfter(at))
              .ifPresent(
                  at -> {
                    throw Status.PERMISSION_DENIED
                        .withDescription(
                            "the certificate of " + id + " was revoked at " + at + ": no renewal")
                        .asRuntimeException();
                  });
          List<X509Certificate> chain =
              ca.renew(id, caller.certificate(), request.getPublicKey().toByteArray());
          return RenewResponse.newBuilder()
              .setCertificateChainPem(Pem.encode(chain, null))
              .setNotAfter(chain.getFirst().getNotAfter().toInstant().toString())
              .build();
        });
  }

  /** The identity a request names; INVALID_ARGUMENT naming the field when it names none. */
  static PeerIdentity identity(String kindLabel, String name) {
    PeerIdentity.Kind kind =
        PeerIdentity.Kind.ofLabel(kindLabel)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "kind: \"" + kindLabel + "\" is not svc, node, admin or reader"));
    try {
      return new PeerIdentity(kind, name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("name: " + e.getMessage(), e);
    }
  }

  @Override
  @Blocking
  public Uni<RevokeResponse> revoke(RevokeRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          PeerIdentity id = identity(request.getKind(), request.getName());
          PeerIdentity.Kind kind = id.kind();
          Instant at = Instant.now();
          kv.put(
              Keys.Revocations.of(kind.label(), id.name()),
              RevocationWatch.encode(at, caller.name()),
              0);
          revocations.apply(id, at); // here at once, before the watch brings it
          audit.record(caller, "revoke", "certificates of " + id, "ok", "");
          return RevokeResponse.newBuilder().setRevokedAt(at.toString()).build();
        });
  }

  @Override
  @Blocking
  public Uni<io.porin.api.ca.v1.ReadmitResponse> readmit(
      io.porin.api.ca.v1.ReadmitRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          PeerIdentity id = identity(request.getKind(), request.getName());
          PeerIdentity.Kind kind = id.kind();
          if (revocations.revokedAt(id).isEmpty()) {
            throw new IllegalArgumentException(id + " is not revoked");
          }
          Instant at = Instant.now();
          kv.put(Keys.Readmissions.of(kind.label(), id.name()), at.toString(), 0);
          audit.record(caller, "readmit", id.toString(), "ok", "");
          return io.porin.api.ca.v1.ReadmitResponse.newBuilder()
              .setReadmittedAt(at.toString())
              .build();
        });
  }

  @Override
  @Blocking
  public Uni<ListRevokedResponse> listRevoked(ListRevokedRequest request) {
    return GrpcCalls.call(
        () -> {
          ListRevokedResponse.Builder b = ListRevokedResponse.newBuilder();
          for (Entry e : kv.list(Keys.Revocations.PREFIX).entries()) {
            String[] kn = e.key().substring(Keys.Revocations.PREFIX.length()).split("/", 2);
            if (kn.length != 2) {
              continue;
            }
            String by = "";
            for (String line : e.value().split("\n")) {
              if (line.startsWith("by=")) {
                by = line.substring(3);
              }
            }
            b.addRevocations(
                Revocation.newBuilder()
                    .setKind(kn[0])
                    .setName(kn[1])
                    .setRevokedAt(RevocationWatch.decodeAt(e.value()).toString())
                    .setBy(by));
          }
          return b.build();
        });
  }
}
