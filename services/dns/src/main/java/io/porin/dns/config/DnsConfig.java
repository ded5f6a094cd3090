package io.porin.dns.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;

/** The cluster DNS's settings. */
@ConfigMapping(prefix = "porin")
public interface DnsConfig {

  /** Where etcd is (services and endpoints are read from it). */
  Etcd etcd();

  /** What the DNS serves and where. */
  Dns dns();

  /** etcd connection. */
  interface Etcd {
    /** etcd client URLs, comma-separated. */
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    /** How long one etcd call may take. */
    @WithDefault("5s")
    Duration timeout();
  }

  /** The DNS server. */
  interface Dns {
    /** The cluster domain the server is authoritative for. */
    @WithDefault("cluster.local")
    String domain();

    /** The UDP and TCP port DNS is served on. */
    @WithDefault("53")
    int port();

    /**
     * Addresses to serve on, comma-separated; {@code ::} is every IPv4 and IPv6 address (one
     * dual-stack socket per protocol), and falls back to {@code 0.0.0.0} where IPv6 is off.
     */
    @WithDefault("::")
    List<String> bind();

    /** Seconds answers, and negative answers (the SOA minimum), may be cached. */
    @WithDefault("5")
    int ttl();

    /** How long an idle TCP connection stays open. */
    @WithDefault("10s")
    Duration tcpIdleTimeout();

    /** Netty event loop threads serving UDP and TCP. */
    @WithDefault("2")
    int ioThreads();
  }
}
