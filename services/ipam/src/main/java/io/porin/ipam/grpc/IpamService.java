package io.porin.ipam.grpc;

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
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.GrpcCalls;
import io.porin.service.WatchStreams;
import io.porin.service.tls.Authorization;
import io.porin.service.tls.Caller;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.concurrent.ConcurrentHashMap;

/** {@code porin.ipam.v1.Ipam}: translates and delegates to the allocator. */
@GrpcService
public class IpamService implements Ipam {
  private final NodeCidrAllocator allocator;
  private final KvStore kv;
  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();

  private final Authorization authorization;

  @Inject
  public IpamService(
      NodeCidrAllocator allocator,
      KvStore kv,
      MeterRegistry registry,
      Authorization authorization) {
    this.allocator = allocator;
    this.authorization = authorization;
    this.kv = kv;
    this.registry = registry;
  }

  @Override
  @Blocking
  public Uni<io.porin.api.ipam.v1.NodeCidrs> allocateNode(AllocateNodeRequest request) {
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          try {
            authorization.requireSelfIfNode(caller, request.getNode(), "allocate pod CIDRs");
            return toProto(allocator.allocate(request.getNode()));
          } catch (RuntimeException e) {
            String code = GrpcCalls.toStatus(e).getStatus().getCode().name();
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
    Caller caller = Caller.current();
    return GrpcCalls.call(
        () -> {
          authorization.requireSelfIfNode(caller, request.getNode(), "release pod CIDRs");
          return ReleaseNodeResponse.newBuilder()
              .setReleased(allocator.release(request.getNode()))
              .build();
        });
  }

  @Override
  @Blocking
  public Uni<ListResponse> list(ListRequest request) {
    return GrpcCalls.call(
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
    return WatchStreams.of(
        kv,
        Keys.Ipam.NODES_PREFIX,
        request.getFromRevision(),
        (kind, entry, revision) ->
            event(
                switch (kind) {
                  case SNAPSHOT -> WatchEvent.Type.SNAPSHOT;
                  case PUT -> WatchEvent.Type.ALLOCATED;
                  case DELETE -> WatchEvent.Type.RELEASED;
                },
                entry,
                revision),
        revision ->
            WatchEvent.newBuilder().setType(WatchEvent.Type.SYNCED).setRevision(revision).build());
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
}
