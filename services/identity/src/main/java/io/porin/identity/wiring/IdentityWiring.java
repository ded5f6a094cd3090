package io.porin.identity.wiring;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.core.identity.AllocationRange;
import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelFilter;
import io.porin.identity.allocate.IdentityAllocator;
import io.porin.identity.config.PorinConfig;
import io.porin.identity.gc.IdentityCollector;
import io.porin.kvstore.KvStore;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/** What the identity service is made of. */
public class IdentityWiring {

  /** The etcd client. */
  @Produces
  @Singleton
  KvStore kvStore(PorinConfig config, ServiceTls tls) {
    return KvStore.connect(
        config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
  }

  void closeKvStore(@Disposes KvStore kv) {
    kv.close();
  }

  /** The cluster's identity range, from {@code porin.identity.cluster-id}. */
  @Produces
  @Singleton
  AllocationRange range(PorinConfig config) {
    int id = config.identity().clusterId();
    if (id < NumericIdentity.MIN_CLUSTER_ID || id > NumericIdentity.MAX_CLUSTER_ID) {
      throw new IllegalArgumentException("porin.identity.cluster-id: " + id + " is outside 1..255");
    }
    return new AllocationRange(id);
  }

  /** The label filter: Cilium's defaults plus {@code porin.identity.labels}. */
  @Produces
  @Singleton
  LabelFilter labelFilter(PorinConfig config) {
    try {
      return LabelFilter.configured(config.identity().labels().orElse(List.of()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("porin.identity.labels: " + e.getMessage(), e);
    }
  }

  /** The allocator, following etcd from start-up. */
  @Produces
  @Singleton
  @Startup
  IdentityAllocator allocator(
      KvStore kv,
      AllocationRange range,
      LabelFilter filter,
      PorinConfig config,
      MeterRegistry registry) {
    IdentityAllocator allocator =
        new IdentityAllocator(kv, range, filter, config.identity().ownerTtl(), new SecureRandom())
            .start();
    Gauge.builder("porin.identity.count", allocator, IdentityAllocator::knownCount)
        .description("Allocated identities (reserved ones not counted)")
        .register(registry);
    return allocator;
  }

  void closeAllocator(@Disposes IdentityAllocator allocator) throws Exception {
    allocator.close();
  }

  /** Garbage collection of unreferenced identities, every {@code porin.identity.gc-interval}. */
  @Produces
  @Singleton
  @Startup
  IdentityCollector collector(
      KvStore kv,
      PorinConfig config,
      MeterRegistry registry,
      jakarta.enterprise.inject.Instance<io.fabric8.kubernetes.client.KubernetesClient>
          kubernetes) {
    IdentityCollector collector =
        new IdentityCollector(kv, config.identity().gcGracePeriod(), Clock.systemUTC());
    if (config.identity().gcLease().isPresent()) {
      io.porin.identity.gc.GcLease lease =
          new io.porin.identity.gc.GcLease(
              kubernetes.get(), config.identity().gcLease().get(), holderName());
      collector.start(config.identity().gcInterval(), lease::leading);
      collector.onClose(lease);
    } else {
      collector.start(config.identity().gcInterval());
    }
    FunctionCounter.builder("porin.identity.gc.deleted", collector, IdentityCollector::deletedTotal)
        .description("Identities deleted by garbage collection on this replica")
        .register(registry);
    return collector;
  }

  /** This replica's name for the Lease: its pod's (POD_NAME), else the host's. */
  static String holderName() {
    String pod = System.getenv("POD_NAME");
    if (pod != null && !pod.isBlank()) {
      return pod;
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "identity-" + ProcessHandle.current().pid();
    }
  }

  void closeCollector(@Disposes IdentityCollector collector) {
    collector.close();
  }

  /** Who may call what: agents allocate (for their own node), everyone of the cluster reads. */
  @Produces
  @Singleton
  AccessRules accessRules() {
    String s = "porin.identity.v1.Identities/";
    var nodesAndAdmins =
        java.util.Set.of(io.porin.tls.PeerIdentity.Kind.NODE, io.porin.tls.PeerIdentity.Kind.ADMIN);
    return AccessTable.of(
        Map.of(
            s + "Allocate",
            AccessRules.COMPONENTS,
            s + "Release",
            AccessRules.COMPONENTS,
            s + "KeepAlive",
            AccessRules.COMPONENTS,
            s + "*",
            AccessRules.ANYONE,
            // every identity renews its own certificate; admins revoke
            "porin.ca.v1.Certificates/Renew",
            AccessRules.ANYONE,
            "porin.ca.v1.Certificates/Revoke",
            AccessRules.ADMINS,
            "porin.ca.v1.Certificates/Readmit",
            AccessRules.ADMINS,
            "porin.ca.v1.Certificates/ListRevoked",
            AccessRules.ANYONE));
  }

  /**
   * The CA's online part: renewals, from {@code porin.ca.dir}. Also this service's {@code
   * LocalSigner}: it renews its own certificate by signing it here.
   */
  @Produces
  @Singleton
  io.porin.identity.ca.OnlineCa onlineCa(PorinConfig config) {
    return new io.porin.identity.ca.OnlineCa(
        config.ca().dir().map(io.porin.tls.CertificateAuthority::load), config.ca().leafValidity());
  }

  /** The audit log: identity allocations by anyone but node agents, revocations. */
  @Produces
  @Singleton
  io.porin.service.tls.AuditLog auditLog(KvStore kv) {
    return new io.porin.service.tls.AuditLog(kv, "identity");
  }
}
