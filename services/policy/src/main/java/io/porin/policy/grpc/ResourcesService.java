package io.porin.policy.grpc;

import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ApplyResponse;
import io.porin.api.resource.v1.DeleteRequest;
import io.porin.api.resource.v1.DeleteResponse;
import io.porin.api.resource.v1.ListRequest;
import io.porin.api.resource.v1.ListResponse;
import io.porin.api.resource.v1.Outcome;
import io.porin.api.resource.v1.ResourceRef;
import io.porin.api.resource.v1.Resources;
import io.porin.api.resource.v1.Result;
import io.porin.api.resource.v1.StoredResource;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.policy.store.ResourceStore;
import io.porin.service.GrpcCalls;
import io.porin.service.tls.AuditLog;
import io.porin.service.tls.Caller;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@code porin.resource.v1.Resources}: the standalone store behind {@code porin apply}. */
@GrpcService
public class ResourcesService implements Resources {
  private final ResourceStore store;
  private final AuditLog audit;

  @Inject
  public ResourcesService(ResourceStore store, AuditLog audit) {
    this.store = store;
    this.audit = audit;
  }

  @Override
  @Blocking
  public Uni<ApplyResponse> apply(ApplyRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          ResourceStore.Results r;
          try {
            r = store.apply(request.getText(), request.getDryRun());
          } catch (RuntimeException e) {
            if (!request.getDryRun()) {
              auditFailure(caller, "apply", e);
            }
            throw e;
          }
          if (!request.getDryRun()) {
            audit(caller, "apply", r);
          }
          return ApplyResponse.newBuilder()
              .addAllResults(results(r))
              .setRevision(r.revision())
              .build();
        });
  }

  @Override
  @Blocking
  public Uni<DeleteResponse> delete(DeleteRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          List<ResourceId> ids = new ArrayList<>();
          for (int i = 0; i < request.getRefsCount(); i++) {
            ids.add(id(request.getRefs(i), "refs[" + i + "]"));
          }
          ResourceStore.Results r;
          try {
            r = store.delete(request.getText(), ids);
          } catch (RuntimeException e) {
            auditFailure(caller, "delete", e);
            throw e;
          }
          audit(caller, "delete", r);
          return DeleteResponse.newBuilder()
              .addAllResults(results(r))
              .setRevision(r.revision())
              .build();
        });
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return GrpcCalls.call(
        () -> {
          Optional<ResourceKind> kind = Optional.empty();
          if (!request.getKind().isEmpty()) {
            kind =
                Optional.of(
                    ResourceKind.parse(request.getKind())
                        .orElseThrow(
                            () ->
                                new IllegalArgumentException(
                                    "kind: \"" + request.getKind() + "\" is not a kind")));
          }
          ListResponse.Builder b = ListResponse.newBuilder();
          for (ResourceStore.Stored s : store.list(kind, request.getNamespace())) {
            b.addResources(
                StoredResource.newBuilder()
                    .setRef(ref(s.id()))
                    .setJson(s.json())
                    .setModRevision(s.modRevision()));
          }
          return b.build();
        });
  }

  /** One audit record per resource the request touched (or refused). */
  private void audit(Caller caller, String action, ResourceStore.Results r) {
    for (ResourceStore.Result x : r.results()) {
      String what =
          x.id() == null
              ? "document " + x.document()
              : x.id().kind().kind()
                  + " "
                  + (x.id().namespace().isEmpty() ? "" : x.id().namespace() + "/")
                  + x.id().name();
      audit.record(
          caller, action, what, x.outcome().name().toLowerCase(java.util.Locale.ROOT), x.message());
    }
  }

  private void auditFailure(Caller caller, String action, RuntimeException e) {
    audit.record(
        caller,
        action,
        "resources",
        GrpcCalls.toStatus(e).getStatus().getCode().name(),
        String.valueOf(e.getMessage()));
  }

  private static List<Result> results(ResourceStore.Results r) {
    List<Result> out = new ArrayList<>();
    for (ResourceStore.Result x : r.results()) {
      Result.Builder b =
          Result.newBuilder()
              .setOutcome(Outcome.valueOf(x.outcome().name()))
              .setMessage(x.message())
              .setDocument(x.document());
      if (x.id() != null) {
        b.setRef(ref(x.id()));
      }
      out.add(b.build());
    }
    return out;
  }

  private static ResourceRef ref(ResourceId id) {
    return ResourceRef.newBuilder()
        .setKind(id.kind().kind())
        .setNamespace(id.namespace())
        .setName(id.name())
        .build();
  }

  private static ResourceId id(ResourceRef ref, String field) {
    ResourceKind kind =
        ResourceKind.parse(ref.getKind())
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        field + ".kind: \"" + ref.getKind() + "\" is not a kind"));
    if (ref.getName().isEmpty()) {
      throw new IllegalArgumentException(field + ".name: is required");
    }
    String ns = kind.namespaced() && ref.getNamespace().isEmpty() ? "default" : ref.getNamespace();
    return new ResourceId(kind, ns, ref.getName());
  }
}
