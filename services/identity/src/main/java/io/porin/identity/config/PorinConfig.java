package io.porin.identity.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The identity service's settings ({@code porin.*}). */
@ConfigMapping(prefix = "porin")
public interface PorinConfig {

  /** Where etcd is. */
  Etcd etcd();

  /** How identities are allocated and collected. */
  Identity identity();

  /** The cluster CA's online part (renewals, revocations). */
  Ca ca();

  /** The cluster CA. */
  interface Ca {
    /**
     * The CA's directory ({@code ca.crt}, {@code ca.key} 0600): with it, this service renews every
     * component's certificate (and its own); without, Renew answers FAILED_PRECONDITION.
     */
    Optional<java.nio.file.Path> dir();

    /** How long renewed certificates live. */
    @WithDefault("24h")
    Duration leafValidity();

    /** The join port: first certificates for components that prove who they are with a token. */
    Join join();
  }

  /** The join port (Kubernetes: projected service account tokens, checked by the API server). */
  interface Join {
    /** The port; 0 (the default) opens none. */
    @WithDefault("0")
    int port();

    /** The address to listen on. */
    @WithDefault("0.0.0.0")
    String host();

    /** Porin's namespace: only its service accounts' tokens join. Required with a port. */
    Optional<String> namespace();

    /** The audience the tokens must be issued for. */
    @WithDefault("porin")
    String audience();

    /** Whether joined components are given their etcd users and roles here (Kubernetes: yes). */
    @WithDefault("true")
    boolean admitToEtcd();
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

  /** Allocation and garbage collection. */
  interface Identity {
    /** This cluster's ID, 1..255: bits 16..23 of every identity it allocates. */
    @WithDefault("1")
    int clusterId();

    /** How long an owner's references live without a keep-alive (an owner's lease TTL). */
    @WithDefault("30s")
    Duration ownerTtl();

    /** How long an identity without references stays before it is deleted. */
    @WithDefault("5m")
    Duration gcGracePeriod();

    /** How often unreferenced identities are looked for. */
    @WithDefault("30s")
    Duration gcInterval();

    /**
     * The {@code coordination.k8s.io} Lease that makes one replica the collector, as {@code
     * namespace/name}; empty (a lab): every replica collects (passes are idempotent).
     */
    Optional<String> gcLease();

    /**
     * Extra label prefixes for the label filter, in Cilium's {@code --labels} syntax: {@code
     * [source:][!]regex}. Any include switches to whitelist mode.
     */
    Optional<List<String>> labels();
  }
}
