package io.porin.agent.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The node agent's settings ({@code porin.*}). */
@ConfigMapping(prefix = "porin")
public interface AgentConfig {

  Etcd etcd();

  Agent agent();

  /** etcd connection. */
  interface Etcd {
    @WithDefault("http://127.0.0.1:2379")
    List<String> endpoints();

    @WithDefault("5s")
    Duration timeout();
  }

  /** This node and where the control plane is. */
  interface Agent {
    /** This node's name (default: the host name). */
    Optional<String> nodeName();

    /** This node's underlay addresses (published to other nodes, routed to for pod CIDRs). */
    Optional<List<String>> nodeAddresses();

    /** Where endpoint state lives between restarts (default /var/run/porin/&lt;node&gt;). */
    Optional<String> stateDir();

    /** The bpffs directory of this node's pinned maps (default /sys/fs/bpf/porin/&lt;node&gt;). */
    Optional<String> pinDir();

    /**
     * Where pod labels come from: {@code standalone} (etcd, written by {@code porin apply}) or
     * {@code kubernetes} (the API server the Kubernetes client is configured for).
     */
    @WithDefault("standalone")
    String source();

    /**
     * Where this namespace's {@code net.*} kernel settings are written: {@code /proc/sys}, or in a
     * container (whose /proc/sys is read-only) the host's /proc/sys/net mounted at {@code
     * <this>/net}, e.g. {@code /host/proc/sys}.
     */
    @WithDefault("/proc/sys")
    String procSys();

    /** The CNI plugin's socket. */
    @WithDefault("/var/run/porin/cni.sock")
    String cniSocket();

    /** How long a CNI caller may take to send its request before the socket closes it. */
    @WithDefault("10s")
    Duration cniReadTimeout();

    /**
     * Where the container runtime reads CNI configurations (e.g. /etc/cni/net.d): when set, the
     * agent writes {@code 05-porin.conflist} there once it serves CNI.
     */
    Optional<String> cniConfDir();

    /** The identity service, host:port. */
    @WithDefault("127.0.0.1:9401")
    String identity();

    /** The IPAM service, host:port. */
    @WithDefault("127.0.0.1:9402")
    String ipam();

    /** The policy service, host:port. */
    @WithDefault("127.0.0.1:9403")
    String policy();

    /** How long a CNI ADD waits for the new endpoint's policy before returning. */
    @WithDefault("10s")
    Duration policyWait();

    /** Label prefixes the identity service also uses ({@code porin.identity.labels}). */
    Optional<List<String>> labels();

    /**
     * The node's uplinks (interface names): pod traffic to other nodes leaves through them directly
     * and pod traffic from other nodes enters pods from them directly, skipping the node's IP stack
     * (host routing). Default: the interfaces that hold the node's addresses.
     */
    Optional<List<String>> devices();

    /**
     * The cgroup v2 directory the pods run under (Cilium's {@code cgroup-root}): socket load
     * balancing is attached there, so every pod's connect(), sendmsg() and recvmsg() to a service
     * is translated once per connection. Unset: no socket load balancing (per-packet translation
     * only). Never the root cgroup of a shared machine.
     */
    Optional<String> socketLbCgroup();

    /** Route other nodes' pod CIDRs via their addresses (native routing). */
    @WithDefault("true")
    boolean autoNodeRoutes();

    /**
     * Connections each endpoint's conntrack holds per direction (those it opened, those opened to
     * it). More in one direction evict that direction's own oldest entries: never another pod's,
     * nor the endpoint's connections of the other direction.
     */
    @WithDefault("8192")
    int conntrackPerEndpoint();

    /** How often expired conntrack entries are collected (and conntrack pressure measured). */
    @WithDefault("30s")
    Duration conntrackGcInterval();

    /** How often pods' and namespaces' labels are derived again (besides their watch). */
    @WithDefault("60s")
    Duration labelResync();

    /** How often the events ring is drained. */
    @WithDefault("50ms")
    Duration eventsInterval();

    /** Flows (Hubble's observer on this node). */
    Flows flows();

    /**
     * Transparent encryption between nodes: {@code none} or {@code wireguard} (the kernel's where
     * the module exists, else wireguard-go).
     */
    @WithDefault("none")
    String encryption();

    /**
     * Strict mode: pod traffic to another node that cannot go through WireGuard (no peer, no key
     * yet) is dropped (reason 195), never sent in clear.
     */
    @WithDefault("false")
    boolean encryptionStrict();

    /** WireGuard's settings. */
    Wireguard wireguard();

    /**
     * The MTU of the network under the pods (the uplinks'); pods get it less the encapsulation's
     * overhead (WireGuard: 80 bytes).
     */
    @WithDefault("1500")
    int mtu();
  }

  /** WireGuard. */
  interface Wireguard {
    /** The UDP port the device listens on (and peers send to). */
    @WithDefault("51871")
    int port();
  }

  /** The flow ring and its export. */
  interface Flows {
    /** How many flows the ring keeps (Hubble's default: 4095). */
    @WithDefault("4095")
    int capacity();

    /** When set, every flow is also appended to this JSON-lines file, for long retention. */
    Optional<String> exportFile();

    /** The export file's size at which it is rotated, in bytes. */
    @WithDefault("10485760")
    long exportMaxSize();

    /** How many rotated export files are kept. */
    @WithDefault("5")
    int exportMaxFiles();
  }
}
