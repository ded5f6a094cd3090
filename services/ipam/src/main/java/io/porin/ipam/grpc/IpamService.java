package io.porin.ipam.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.api.ipam.v1.AllocateNodeRequest;
import io.porin.api.ipam.v1.Ipam;
import io.porin.api.ipam.v1.ListRequest;
import io.porin.api.ipam.v1.ListResponse;
import io.porin.api.ipam.v1.PoolUsage;
import io.porin.api.ipam.v1.ReleaseNodeRequest;
import io.porin.api.ipam.v1.ReleaseNodeResponse;
import io.porin.api.ipam.v1.WatchEvent;
import io.porin.api.ipam.v1.WatchRequest;
import io.porin.core.ipam.Cidr;
import io.porin.ipam.allocate.NodeCidrAllocator;
import io.porin.ipam.allocate.NodeCidrs;
import io.porin.ipam.allocate.PoolExhaustedException;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchListener;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/** {@code porin.ipam.v1.Ipam}: translates and delegates to the allocator. */
@GrpcService
public class IpamService implements Ipam {
  private final NodeCidrAllocator allocator;
  private final KvStore kv;
  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();

  @Inject
  public IpamService(NodeCidrAllocator allocator, KvStore kv, MeterRegistry registry) {
    this.allocator = allocator;
    this.kv = kv;
    this.registry = registry;
  }

  @Override
  @Blocking
  public Uni<io.porin.api.ipam.v1.NodeCidrs> allocateNode(AllocateNodeRequest request) {
    return call(
        () -> {
          try {
            return toProto(allocator.allocate(request.getNode()));
          } catch (RuntimeException e) {
            String code = toStatus(e).getStatus().getCode().name();
            errors
                .computeIfAbsent(
                    code,
                    c ->
                        Counter.builder("porin.ipam.allocation.errors")
                            .description("AllocateNode requests that failed, by gRPC status code")
                            .tag("code", c)
                            .register(registry))
                .increment();
            throw e;
          }
        });
  }

  @Override
  @Blocking
  public Uni<ReleaseNodeResponse> releaseNode(ReleaseNodeRequest request) {
    return call(
        () ->
            ReleaseNodeResponse.newBuilder()
                .setReleased(allocator.release(request.getNode()))
                .build());
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return call(
        () -> {
          NodeCidrAllocator.Listing l = allocator.list();
          ListResponse.Builder b = ListResponse.newBuilder().setRevision(l.revision());
          l.nodes().forEach(n -> b.addNodes(toProto(n)));
          for (NodeCidrAllocator.Usage u : l.usage()) {
            b.addPools(
                PoolUsage.newBuilder()
                    .setFamily(u.pool().family().label())
                    .addAllCidrs(u.pool().pools().stream().map(Cidr::toString).toList())
                    .setMaskSize(u.pool().maskSize())
                    .setBlocksTotal(
                        u.pool()
                            .blockCount()
                            .min(java.math.BigInteger.valueOf(Long.MAX_VALUE))
                            .longValue())
                    .setBlocksUsed(u.blocksUsed()));
          }
          return b.build();
        });
  }

  @Override
  public Multi<WatchEvent> watch(WatchRequest request) {
    if (request.getFromRevision() < 0) {
      return Multi.createFrom()
          .failure(
              Status.INVALID_ARGUMENT
                  .withDescription("from_revision: " + request.getFromRevision() + " is negative")
                  .asRuntimeException());
    }
    return Multi.createFrom()
        .<WatchEvent>emitter(
            emitter -> {
              WatchListener listener =
                  new WatchListener() {
                    @Override
                    public void onReset(Snapshot snapshot) {
                      for (Entry e : snapshot.entries()) {
                        emitter.emit(event(WatchEvent.Type.SNAPSHOT, e, e.modRevision()));
                      }
                      emitter.emit(
                          WatchEvent.newBuilder()
                              .setType(WatchEvent.Type.SYNCED)
                              .setRevision(snapshot.revision())
                              .build());
                    }

                    @Override
                    public void onEvents(List<io.porin.kvstore.WatchEvent> events) {
                      for (io.porin.kvstore.WatchEvent e : events) {
                        WatchEvent.Type type =
                            e.type() == io.porin.kvstore.WatchEvent.Type.PUT
                                ? WatchEvent.Type.ALLOCATED
                                : WatchEvent.Type.RELEASED;
                        emitter.emit(event(type, e.entry(), e.revision()));
                      }
                    }

                    @Override
                    public void onClosed(Throwable cause) {
                      emitter.fail(toStatus(cause));
                    }
                  };
              try {
                AutoCloseable w =
                    kv.watch(Keys.Ipam.NODES_PREFIX, request.getFromRevision(), listener);
                emitter.onTermination(
                    () -> {
                      try {
                        w.close();
                      } catch (Exception ignored) {
                        // closing a watch does not fail in a way the caller can act on
                      }
                    });
              } catch (RuntimeException e) {
                emitter.fail(toStatus(e));
              }
            })
        .runSubscriptionOn(r -> Thread.ofVirtual().start(r));
  }

  private static WatchEvent event(WatchEvent.Type type, Entry e, long revision) {
    return WatchEvent.newBuilder()
        .setType(type)
        .setRevision(revision)
        .setNode(toProto(NodeCidrs.decode(Keys.Ipam.nodeOf(e.key()), e.value(), e.modRevision())))
        .build();
  }

  static io.porin.api.ipam.v1.NodeCidrs toProto(NodeCidrs n) {
    return io.porin.api.ipam.v1.NodeCidrs.newBuilder()
        .setNode(n.node())
        .addAllIpv4Cidrs(n.of(Cidr.Family.IPV4).stream().map(Cidr::toString).toList())
        .addAllIpv6Cidrs(n.of(Cidr.Family.IPV6).stream().map(Cidr::toString).toList())
        .setRevision(n.revision())
        .build();
  }

  static StatusRuntimeException toStatus(Throwable t) {
    return switch (t) {
      case StatusRuntimeException s -> s;
      case IllegalArgumentException e ->
          Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
      case PoolExhaustedException e ->
          Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
      case KvStoreException e when e.kind() == KvStoreException.Kind.UNAVAILABLE ->
          Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
      default ->
          Status.INTERNAL
              .withDescription(String.valueOf(t.getMessage()))
              .withCause(t)
              .asRuntimeException();
    };
  }

  private static <T> Uni<T> call(Supplier<T> body) {
    try {
      return Uni.createFrom().item(body.get());
    } catch (RuntimeException e) {
      return Uni.createFrom().failure(toStatus(e));
    }
  }
}
