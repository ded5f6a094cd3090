package io.porin.identity.grpc;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.AllocateResponse;
import io.porin.api.identity.v1.GetRequest;
import io.porin.api.identity.v1.Identities;
import io.porin.api.identity.v1.Identity;
import io.porin.api.identity.v1.KeepAliveRequest;
import io.porin.api.identity.v1.KeepAliveResponse;
import io.porin.api.identity.v1.ListRequest;
import io.porin.api.identity.v1.ListResponse;
import io.porin.api.identity.v1.LookupRequest;
import io.porin.api.identity.v1.ReleaseRequest;
import io.porin.api.identity.v1.ReleaseResponse;
import io.porin.api.identity.v1.WatchEvent;
import io.porin.api.identity.v1.WatchRequest;
import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelSet;
import io.porin.identity.allocate.Allocation;
import io.porin.identity.allocate.IdentityAllocator;
import io.porin.identity.allocate.IdentityRecord;
import io.porin.kvstore.Entry;
import io.porin.kvstore.KvStore;
import io.porin.service.GrpcCalls;
import io.porin.service.WatchStreams;
import io.porin.service.tls.AuditLog;
import io.porin.service.tls.Authorization;
import io.porin.service.tls.Caller;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.concurrent.ConcurrentHashMap;

/** {@code porin.identity.v1.Identities}: translates and delegates to the allocator. */
@GrpcService
public class IdentitiesService implements Identities {
  private final IdentityAllocator allocator;
  private final KvStore kv;
  private final Timer allocationTimer;
  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();

  private final Authorization authorization;
  private final AuditLog audit;

  @Inject
  public IdentitiesService(
      IdentityAllocator allocator,
      KvStore kv,
      MeterRegistry registry,
      Authorization authorization,
      AuditLog audit) {
    this.audit = audit;
    this.allocator = allocator;
    this.authorization = authorization;
    this.kv = kv;
    this.registry = registry;
    this.allocationTimer =
        Timer.builder("porin.identity.allocation")
            .description("Time to answer an Allocate request")
            .publishPercentileHistogram()
            .register(registry);
  }

  @Override
  @Blocking
  public Uni<AllocateResponse> allocate(AllocateRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          long start = System.nanoTime();
          try {
            authorization.requireSelfIfNode(caller, request.getOwner(), "allocate identities");
            LabelSet labels = IdentityAllocator.parseLabels(request.getLabelsList());
            Allocation a;
            try {
              a = allocator.allocate(labels, request.getOwner());
            } catch (RuntimeException e) {
              if (!caller.isAgent()) {
                audit.record(
                    caller,
                    "allocate",
                    "identity " + labels,
                    GrpcCalls.toStatus(e).getStatus().getCode().name(),
                    String.valueOf(e.getMessage()));
              }
              throw e;
            }
            if (!caller.isAgent()) {
              audit.record(
                  caller,
                  "allocate",
                  "identity " + a.identity().id().value() + " " + labels,
                  a.created() ? "created" : "existing",
                  "owner " + request.getOwner());
            }
            return AllocateResponse.newBuilder()
                .setIdentity(toProto(a.identity()))
                .setCreated(a.created())
                .addAllIgnoredLabels(a.ignored().strings())
                .build();
          } catch (RuntimeException e) {
            countError(e);
            throw e;
          } finally {
            allocationTimer.record(
                System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
          }
        });
  }

  @Override
  @Blocking
  public Uni<ReleaseResponse> release(ReleaseRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          authorization.requireSelfIfNode(caller, request.getOwner(), "release identities");
          return ReleaseResponse.newBuilder()
              .setReleased(allocator.release(identity(request.getId()), request.getOwner()))
              .build();
        });
  }

  @Override
  @Blocking
  public Uni<KeepAliveResponse> keepAlive(KeepAliveRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () ->
            allocator
                .keepAlive(checkedOwner(caller, request.getOwner()))
                .map(ttl -> KeepAliveResponse.newBuilder().setTtlSeconds(ttl.toSeconds()).build())
                .orElseThrow(
                    () ->
                        GrpcCalls.notFound(
                            "owner \""
                                + request.getOwner()
                                + "\" holds no references (its lease expired or it never"
                                + " allocated); allocate again")));
  }

  private String checkedOwner(Caller caller, String owner) {
    authorization.requireSelfIfNode(caller, owner, "keep identities alive");
    return owner;
  }

  @Override
  @Blocking
  public Uni<Identity> get(GetRequest request) {
    return GrpcCalls.call(
        () ->
            allocator
                .get(identity(request.getId()))
                .map(IdentitiesService::toProto)
                .orElseThrow(
                    () ->
                        GrpcCalls.notFound(
                            "id: identity "
                                + Integer.toUnsignedString(request.getId())
                                + " does not exist")));
  }

  @Override
  @Blocking
  public Uni<Identity> lookup(LookupRequest request) {
    return GrpcCalls.call(
        () -> {
          LabelSet labels = IdentityAllocator.parseLabels(request.getLabelsList());
          return allocator
              .lookup(labels)
              .map(IdentitiesService::toProto)
              .orElseThrow(
                  () -> GrpcCalls.notFound("labels: no identity for " + labels.canonical()));
        });
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return GrpcCalls.call(
        () -> {
          IdentityAllocator.Listing l = allocator.list();
          return ListResponse.newBuilder()
              .addAllIdentities(l.identities().stream().map(IdentitiesService::toProto).toList())
              .setRevision(l.revision())
              .build();
        });
  }

  @Override
  public Multi<WatchEvent> watch(WatchRequest request) {
    return WatchStreams.of(
        kv,
        io.porin.kvstore.Keys.Identities.ID_PREFIX,
        request.getFromRevision(),
        (kind, entry, revision) ->
            event(
                switch (kind) {
                  case SNAPSHOT -> WatchEvent.Type.SNAPSHOT;
                  case PUT -> WatchEvent.Type.ADDED;
                  case DELETE -> WatchEvent.Type.DELETED;
                },
                entry,
                revision),
        revision ->
            WatchEvent.newBuilder().setType(WatchEvent.Type.SYNCED).setRevision(revision).build());
  }

  private static WatchEvent event(WatchEvent.Type type, Entry e, long revision) {
    long id = io.porin.kvstore.Keys.Identities.idOf(e.key());
    LabelSet labels = LabelSet.parseCanonical(e.value());
    return WatchEvent.newBuilder()
        .setType(type)
        .setRevision(revision)
        .setIdentity(
            toProto(
                new IdentityRecord(
                    new NumericIdentity((int) id),
                    labels,
                    type == WatchEvent.Type.DELETED ? 0 : e.modRevision(),
                    -1)))
        .build();
  }

  static Identity toProto(IdentityRecord r) {
    Identity.Builder b =
        Identity.newBuilder()
            .setId(r.id().value())
            .addAllLabels(r.labels().strings())
            .setReserved(r.id().isReserved())
            .setClusterId(r.id().clusterId())
            .setCreatedRevision(r.createdRevision());
    if (r.references() >= 0) {
      b.setReferences(r.references());
    }
    return b.build();
  }

  private static NumericIdentity identity(int id) {
    if (id == 0) {
      throw new io.porin.identity.allocate.InvalidRequestException("id", "0 is not an identity");
    }
    return new NumericIdentity(id);
  }

  private void countError(RuntimeException e) {
    String code = GrpcCalls.toStatus(e).getStatus().getCode().name();
    errors
        .computeIfAbsent(
            code,
            c ->
                Counter.builder("porin.identity.allocation.errors")
                    .description("Allocate requests that failed, by gRPC status code")
                    .tag("code", c)
                    .register(registry))
        .increment();
  }
}
