package io.porin.ipam.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;

/** The IPAM service's settings ({@code porin.*}); the pool settings mirror Cilium's. */
@ConfigMapping(prefix = "porin")
public interface IpamConfig {

  /** Where etcd is. */
  Etcd etcd();

  /** The cluster pools. */
  Ipam ipam();

  /** etcd connection. */
  interface Etcd {
    /** etcd client URLs, comma-separated. */
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    /** How long one etcd call may take before the request fails with UNAVAILABLE. */
    @WithDefault("5s")
    Duration timeout();
  }

  /** Cluster-pool IPAM. */
  interface Ipam {
    /** IPv4 pool CIDRs, used in order (Cilium: clusterPoolIPv4PodCIDRList). */
    @WithDefault("10.0.0.0/8")
    List<String> clusterPoolIpv4PodCidrList();

    /** Size of each node's IPv4 block (Cilium: clusterPoolIPv4MaskSize). */
    @WithDefault("24")
    int clusterPoolIpv4MaskSize();

    /** Whether nodes also get an IPv6 block. */
    @WithDefault("true")
    boolean ipv6Enabled();

    /** IPv6 pool CIDRs, used in order (Cilium: clusterPoolIPv6PodCIDRList). */
    @WithDefault("fd00::/104")
    List<String> clusterPoolIpv6PodCidrList();

    /** Size of each node's IPv6 block (Cilium: clusterPoolIPv6MaskSize). */
    @WithDefault("120")
    int clusterPoolIpv6MaskSize();
  }
}
