package io.porin.dns;

import io.micrometer.core.instrument.MeterRegistry;
import io.porin.dns.config.DnsConfig;
import io.porin.dns.server.DnsServer;
import io.porin.dns.server.QueryCounter;
import io.porin.dns.source.ZoneSync;
import io.porin.dns.zone.Resolver;
import io.porin.kvstore.KvStore;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Map;

/** What the cluster DNS is made of. */
public class DnsWiring {

  /** etcd, where services and pod addresses are published. */
  @Produces
  @Singleton
  KvStore kvStore(DnsConfig config, ServiceTls tls) {
    return KvStore.connect(
        config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
  }

  void closeKvStore(@Disposes KvStore kv) {
    kv.close();
  }

  /** The zone, kept equal to etcd by a watch of both prefixes. */
  @Produces
  @Singleton
  @Startup
  ZoneSync zoneSync(KvStore kv, DnsConfig config) {
    ZoneSync sync = new ZoneSync(kv, config.dns().domain());
    sync.start();
    return sync;
  }

  void closeZoneSync(@Disposes ZoneSync sync) throws Exception {
    sync.close();
  }

  /** CoreDNS's kubernetes plugin's answers, over the current zone. */
  @Produces
  @Singleton
  Resolver resolver(DnsConfig config) {
    return new Resolver(config.dns().ttl());
  }

  /** Queries by response code. */
  @Produces
  @Singleton
  QueryCounter queryCounter(MeterRegistry registry, ZoneSync sync) {
    return new DnsMetrics(registry, sync);
  }

  /** UDP and TCP on porin.dns.port, bound at start. */
  @Produces
  @Singleton
  @Startup
  DnsServer dnsServer(DnsConfig config, ZoneSync sync, Resolver resolver, QueryCounter counter) {
    DnsConfig.Dns dns = config.dns();
    DnsServer server =
        new DnsServer(
            new DnsServer.Settings(dns.bind(), dns.port(), dns.tcpIdleTimeout(), dns.ioThreads()),
            sync::zone,
            resolver,
            counter);
    server.start();
    return server;
  }

  void closeDnsServer(@Disposes DnsServer server) {
    server.close();
  }

  /** The cluster DNS serves no gRPC: its port (health, metrics) takes any identity's TLS. */
  @Produces
  @Singleton
  AccessRules accessRules() {
    return AccessTable.of(Map.of());
  }
}
