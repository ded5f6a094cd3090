package io.porin.policy.wiring;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelFilter;
import io.porin.core.policy.EnforcementMode;
import io.porin.core.policy.PolicySettings;
import io.porin.core.service.ServiceAddresses;
import io.porin.kvstore.KvStore;
import io.porin.policy.compile.PolicyEngine;
import io.porin.policy.config.PolicyConfig;
import io.porin.policy.service.ServiceController;
import io.porin.policy.source.KubernetesSource;
import io.porin.policy.source.ResourceSource;
import io.porin.policy.source.StandaloneSource;
import io.porin.policy.store.ResourceStore;
import io.porin.policy.stream.Subscriptions;
import io.porin.service.tls.AccessRules;
import io.porin.service.tls.AccessTable;
import io.porin.service.tls.ServiceTls;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What the policy service is made of. */
public class PolicyWiring {

  /** The etcd client. */
  @Produces
  @Singleton
  KvStore kvStore(PolicyConfig config, ServiceTls tls) {
    return KvStore.connect(
        config.etcd().endpoints(), config.etcd().timeout(), tls.cluster().orElse(null));
  }

  void closeKvStore(@Disposes KvStore kv) {
    kv.close();
  }

  /** Cluster-wide settings from {@code porin.policy.*}; a bad value stops start-up, named. */
  @Produces
  @Singleton
  PolicySettings settings(PolicyConfig config) {
    EnforcementMode mode =
        EnforcementMode.parse(config.policy().enforcementMode())
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "porin.policy.enforcement-mode: \""
                            + config.policy().enforcementMode()
                            + "\" is not default, always or never"));
    int cluster = config.policy().clusterId();
    if (cluster < NumericIdentity.MIN_CLUSTER_ID || cluster > NumericIdentity.MAX_CLUSTER_ID) {
      throw new IllegalArgumentException(
          "porin.policy.cluster-id: " + cluster + " is outside 1..255");
    }
    return new PolicySettings(
        mode,
        config.policy().auditMode(),
        cluster,
        config.policy().selectorsMatchLocalClusterOnly());
  }

  /** The label filter: Cilium's defaults plus {@code porin.policy.labels}. */
  @Produces
  @Singleton
  LabelFilter labelFilter(PolicyConfig config) {
    try {
      return LabelFilter.configured(config.policy().labels().orElse(List.of()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("porin.policy.labels: " + e.getMessage(), e);
    }
  }

  /** Where resources come from: {@code porin.policy.source}. */
  @Produces
  @Singleton
  ResourceSource source(PolicyConfig config, KvStore kv, Instance<KubernetesClient> kubernetes) {
    return newSource(config, kv, kubernetes);
  }

  private static ResourceSource newSource(
      PolicyConfig config, KvStore kv, Instance<KubernetesClient> kubernetes) {
    return switch (config.policy().source()) {
      case "standalone" -> new StandaloneSource(kv);
      case "kubernetes" -> new KubernetesSource(kubernetes.get());
      default ->
          throw new IllegalArgumentException(
              "porin.policy.source: \""
                  + config.policy().source()
                  + "\" is not standalone or kubernetes");
    };
  }

  /** The resource store written by porin apply (always etcd). */
  @Produces
  @Singleton
  ResourceStore store(KvStore kv, PolicyConfig config) {
    try {
      return new ResourceStore(
          kv,
          ServiceAddresses.Ranges.parse(
              config.services().cidrIpv4(), config.services().cidrIpv6().orElse(null)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("porin.services.cidr-*: " + e.getMessage(), e);
    }
  }

  /** Services' records from Services, Pods and the published endpoints (its own source). */
  @Produces
  @Singleton
  @Startup
  ServiceController services(
      PolicyConfig config, KvStore kv, Instance<KubernetesClient> kubernetes) {
    return new ServiceController(kv, newSource(config, kv, kubernetes)).start();
  }

  void closeServices(@Disposes ServiceController controller) {
    controller.close();
  }

  /** The nodes' policy streams. */
  @Produces
  @Singleton
  Subscriptions subscriptions() {
    return new Subscriptions();
  }

  /** The compiler's owner, running from start-up and feeding the subscriptions. */
  @Produces
  @Singleton
  @Startup
  PolicyEngine engine(
      KvStore kv,
      ResourceSource source,
      PolicySettings settings,
      LabelFilter filter,
      Subscriptions subscriptions,
      MeterRegistry registry,
      io.porin.service.cluster.ClusterConfig cluster) {
    PolicyEngine engine =
        new PolicyEngine(
            kv, source, settings, filter, io.porin.service.cluster.ClusterConfig.checked(cluster));
    engine.addListener(subscriptions);
    Timer latency =
        Timer.builder("porin.policy.update")
            .description("From a change (identity or resource) to its deltas leaving the engine")
            .publishPercentileHistogram()
            .register(registry);
    engine.addLatencyObserver(nanos -> latency.record(nanos, TimeUnit.NANOSECONDS));
    Gauge.builder("porin.policy.revision", engine, e -> e.state().revision())
        .description("The policy revision")
        .register(registry);
    Gauge.builder("porin.policy.identities", engine, e -> e.state().policies().size())
        .description("Identities with a compiled policy")
        .register(registry);
    Gauge.builder("porin.policy.subscribers", subscriptions, s -> s.subscribers().size())
        .description("Nodes subscribed to policy")
        .register(registry);
    Gauge.builder("cilium_policy", engine, PolicyWiring::validPolicies)
        .description("Policies in force (Cilium's name): valid ones, refused ones left out")
        .register(registry);
    return engine.start();
  }

  private static double validPolicies(PolicyEngine e) {
    try {
      return e.statuses().get(2, TimeUnit.SECONDS).stream()
          .filter(PolicyEngine.Status::valid)
          .count();
    } catch (Exception ex) {
      return Double.NaN;
    }
  }

  void closeEngine(@Disposes PolicyEngine engine) {
    engine.close();
  }

  /**
   * Who may call what: agents subscribe (for their own node), admins apply and delete resources,
   * everyone of the cluster reads, traces and waits.
   */
  @Produces
  @Singleton
  AccessRules accessRules() {
    var nodes =
        java.util.Set.of(io.porin.tls.PeerIdentity.Kind.NODE, io.porin.tls.PeerIdentity.Kind.ADMIN);
    return AccessTable.of(
        Map.of(
            "porin.policy.v1.Policies/Subscribe", nodes,
            "porin.policy.v1.Policies/*", AccessRules.ANYONE,
            "porin.resource.v1.Resources/Apply", AccessRules.ADMINS,
            "porin.resource.v1.Resources/Delete", AccessRules.ADMINS,
            "porin.resource.v1.Resources/*", AccessRules.ANYONE,
            "porin.audit.v1.Audit/*",
                java.util.Set.of(
                    io.porin.tls.PeerIdentity.Kind.ADMIN,
                    io.porin.tls.PeerIdentity.Kind.READER,
                    io.porin.tls.PeerIdentity.Kind.SERVICE)));
  }

  /** The audit log (this service's records: applies and deletes), trimmed past 7 days. */
  @Produces
  @Singleton
  io.porin.service.tls.AuditLog auditLog(KvStore kv) {
    io.porin.service.tls.AuditLog log = new io.porin.service.tls.AuditLog(kv, "policy");
    Thread.ofVirtual()
        .name("audit-trim")
        .start(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  log.trim(java.time.Instant.now().minus(java.time.Duration.ofDays(7)));
                  Thread.sleep(java.time.Duration.ofHours(1).toMillis());
                } catch (InterruptedException e) {
                  return;
                } catch (RuntimeException e) {
                  try {
                    Thread.sleep(60_000);
                  } catch (InterruptedException ie) {
                    return;
                  }
                }
              }
            });
    return log;
  }
}
