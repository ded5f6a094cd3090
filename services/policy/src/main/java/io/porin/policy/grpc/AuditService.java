package io.porin.policy.grpc;

import io.porin.api.audit.v1.Audit;
import io.porin.api.audit.v1.ListRequest;
import io.porin.api.audit.v1.ListResponse;
import io.porin.service.GrpcCalls;
import io.porin.service.tls.AuditLog;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** {@code porin.audit.v1.Audit}: the cluster's audit log (every service's records) from etcd. */
@GrpcService
public class AuditService implements Audit {
  private final AuditLog log;

  @Inject
  public AuditService(AuditLog log) {
    this.log = log;
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return GrpcCalls.call(
        () -> {
          Instant since = null;
          if (!request.getSince().isEmpty()) {
            try {
              since = Instant.parse(request.getSince());
            } catch (DateTimeParseException e) {
              throw new IllegalArgumentException(
                  "since: \"" + request.getSince() + "\" is not an RFC 3339 time");
            }
          }
          return ListResponse.newBuilder().addAllRecords(log.list(since)).build();
        });
  }
}
