package io.porin.policy.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The policy service's settings ({@code porin.*}). */
@ConfigMapping(prefix = "porin")
public interface PolicyConfig {

  /** Where etcd is. */
  Etcd etcd();

  /** How policies are read and enforced. */
  Policy policy();

  /** Services: the ranges cluster IPs come from. */
  Services services();

  /** Service address ranges (as kube-apiserver's --service-cluster-ip-range). */
  interface Services {
    /** The IPv4 service CIDR. */
    @WithDefault("10.96.0.0/16")
    String cidrIpv4();

    /** The IPv6 service CIDR (unset: services get IPv4 cluster IPs only). */
    @WithDefault("fd00:96::/112")
    Optional<String> cidrIpv6();
  }

  /** etcd connection. */
  interface Etcd {
    /** etcd client URLs, comma-separated. */
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    /** How long one etcd call may take before the request fails with UNAVAILABLE. */
    @WithDefault("5s")
    Duration timeout();
  }

  /** Policy sources and enforcement. */
  interface Policy {
    /**
     * Where resources come from: {@code standalone} (etcd, written by {@code porin apply}) or
     * {@code kubernetes} (the API server the Kubernetes client is configured for).
     */
    @WithDefault("standalone")
    String source();

    /** Cilium's {@code enable-policy}: {@code default}, {@code always} or {@code never}. */
    @WithDefault("default")
    String enforcementMode();

    /** Agent-wide audit mode: every drop becomes AUDIT (as Cilium's policy-audit-mode). */
    @WithDefault("false")
    boolean auditMode();

    /** This cluster's ID, 1..255: the {@code cluster} entity means its identities. */
    @WithDefault("1")
    int clusterId();

    /**
     * An endpoint selector that names no cluster ({@code io.cilium.k8s.policy.cluster}) selects
     * only this cluster's endpoints (Cilium 1.19's {@code policy-default-local-cluster}); off (the
     * default), it selects endpoints of every connected cluster, as the ClusterMesh guides say.
     */
    @WithDefault("false")
    boolean selectorsMatchLocalClusterOnly();

    /**
     * Extra label prefixes for the label filter (must equal the identity service's {@code
     * porin.identity.labels}), in Cilium's {@code [source:][!]regex} syntax.
     */
    Optional<List<String>> labels();
  }
}
