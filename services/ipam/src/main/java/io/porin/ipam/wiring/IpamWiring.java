package io.porin.ipam.wiring;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.porin.core.ipam.Cidr;
import io.porin.core.ipam.ClusterPool;
import io.porin.ipam.allocate.NodeCidrAllocator;
import io.porin.ipam.config.IpamConfig;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** What the IPAM service is made of. */
public class IpamWiring {

  /** The etcd client. */
  @Produces
  @Singleton
  KvStore kvStore(IpamConfig config, ServiceTls tls) {
    return KvStore.connect(
        config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
  }

  void closeKvStore(@Disposes KvStore kv) {
    kv.close();
  }

  /** The pools from the settings; a bad setting stops the service at start, naming it. */
  @Produces
  @Singleton
  @Startup
  List<NodeCidrAllocator.FamilyPool> pools(IpamConfig config) {
    IpamConfig.Ipam c = config.ipam();
    List<NodeCidrAllocator.FamilyPool> pools = new ArrayList<>();
    String v4 = "porin.ipam.cluster-pool-ipv4-pod-cidr-list (clusterPoolIPv4PodCIDRList)";
    pools.add(
        new NodeCidrAllocator.FamilyPool(
            ClusterPool.of(
                Cidr.Family.IPV4,
                c.clusterPoolIpv4PodCidrList(),
                c.clusterPoolIpv4MaskSize(),
                v4,
                "porin.ipam.cluster-pool-ipv4-mask-size (clusterPoolIPv4MaskSize)"),
            v4));
    if (c.ipv6Enabled()) {
      String v6 = "porin.ipam.cluster-pool-ipv6-pod-cidr-list (clusterPoolIPv6PodCIDRList)";
      pools.add(
          new NodeCidrAllocator.FamilyPool(
              ClusterPool.of(
                  Cidr.Family.IPV6,
                  c.clusterPoolIpv6PodCidrList(),
                  c.clusterPoolIpv6MaskSize(),
                  v6,
                  "porin.ipam.cluster-pool-ipv6-mask-size (clusterPoolIPv6MaskSize)"),
              v6));
    }
    return List.copyOf(pools);
  }

  /** The allocator, and the pool gauges. */
  @Produces
  @Singleton
  NodeCidrAllocator allocator(
      KvStore kv, List<NodeCidrAllocator.FamilyPool> pools, MeterRegistry registry) {
    NodeCidrAllocator allocator = new NodeCidrAllocator(kv, pools, new SecureRandom());
    ConcurrentHashMap<String, Long> used = new ConcurrentHashMap<>();
    for (NodeCidrAllocator.FamilyPool f : pools) {
      String family = f.pool().family().label();
      Tags tags = Tags.of("family", family);
      Gauge.builder("porin.ipam.node.cidrs.total", f, p -> p.pool().blockCount().doubleValue())
          .description("Node blocks the family's pools hold")
          .tags(tags)
          .register(registry);
      Gauge.builder("porin.ipam.node.cidrs.used", used, u -> u.getOrDefault(family, 0L))
          .description("Node blocks held by nodes (refreshed every 5 s)")
          .tags(tags)
          .register(registry);
    }
    // Counting reads etcd: keep it off the scrape path.
    Thread.ofVirtual()
        .name("ipam-usage")
        .start(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                for (NodeCidrAllocator.FamilyPool f : pools) {
                  String family = f.pool().family().label();
                  try {
                    used.put(family, kv.count(Keys.Ipam.blocks(family)));
                  } catch (RuntimeException etcdAway) {
                    // keep the last count; readiness reports etcd
                  }
                }
                try {
                  Thread.sleep(5_000);
                } catch (InterruptedException e) {
                  return;
                }
              }
            });
    return allocator;
  }

  /** Who may call what: a node allocates its own CIDRs, everyone of the cluster reads. */
  @Produces
  @Singleton
  AccessRules accessRules() {
    String s = "porin.ipam.v1.Ipam/";
    var nodes =
        java.util.Set.of(io.porin.tls.PeerIdentity.Kind.NODE, io.porin.tls.PeerIdentity.Kind.ADMIN);
    return AccessTable.of(
        Map.of(
            s + "AllocateNode", nodes,
            s + "ReleaseNode", nodes,
            s + "*", AccessRules.ANYONE));
  }
}
