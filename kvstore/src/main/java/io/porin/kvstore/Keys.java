package io.porin.kvstore;

/**
 * Porin's key layout in etcd. Everything lives under {@value #ROOT}; each area names its keys here
 * so that the layout can be read in one place (Cilium's kvstore layout is the model).
 *
 * <pre>
 * /porin/v1/identities/id/&lt;id&gt;                 -&gt; canonical label set      (the identity)
 * /porin/v1/identities/value/&lt;labels&gt;          -&gt; id                        (reverse index)
 * /porin/v1/identities/refs/&lt;id&gt;/&lt;owner&gt;       -&gt; owner, on the owner's lease (a reference)
 * /porin/v1/identities/owners/&lt;owner&gt;          -&gt; lease id, on that lease   (an owner)
 * /porin/v1/ipam/nodes/&lt;node&gt;                  -&gt; the node's CIDRs, comma-separated
 * /porin/v1/ipam/blocks/&lt;family&gt;/&lt;cidr&gt;        -&gt; the node holding that block ('/' as '_')
 * /porin/v1/resources/&lt;kind&gt;/&lt;namespace&gt;/&lt;name&gt; -&gt; the resource as JSON (standalone store;
 *                                                 kind is the plural, '_' for no namespace)
 * /porin/v1/nodes/&lt;node&gt;                       -&gt; the node as JSON (addresses, CIDRs), on its
 *                                                 agent's lease
 * /porin/v1/endpoints/&lt;ip&gt;                     -&gt; IP to identity (the ipcache) as JSON, on the
 *                                                 lease of the agent hosting the endpoint
 * /porin/v1/services/&lt;namespace&gt;/&lt;name&gt;        -&gt; the service's frontends and backends as JSON
 *                                                 (ServiceRecord), written by the policy service
 * /porin/v1/service-ips/&lt;ip&gt;                   -&gt; "namespace/name" of the service holding a
 *                                                 cluster IP (written with the Service)
 * /porin/v1/service-nodeports/&lt;port&gt;           -&gt; "namespace/name" of the service holding it
 * </pre>
 */
public final class Keys {
  /** The root of every Porin key. */
  public static final String ROOT = "/porin/v1/";

  private Keys() {}

  /** Keys of the identity service. */
  public static final class Identities {
    public static final String PREFIX = ROOT + "identities/";
    public static final String ID_PREFIX = PREFIX + "id/";
    public static final String VALUE_PREFIX = PREFIX + "value/";
    public static final String REFS_PREFIX = PREFIX + "refs/";
    public static final String OWNERS_PREFIX = PREFIX + "owners/";

    private Identities() {}

    /** The identity's key: its value is the canonical label set. */
    public static String id(long id) {
      return ID_PREFIX + id;
    }

    /** The reverse index: canonical label set to identity. */
    public static String value(String canonicalLabels) {
      return VALUE_PREFIX + canonicalLabels;
    }

    /** The prefix of every reference to one identity. */
    public static String refs(long id) {
      return REFS_PREFIX + id + "/";
    }

    /** One owner's reference to one identity. */
    public static String ref(long id, String owner) {
      return refs(id) + owner;
    }

    /** An owner's registration, on the owner's lease. */
    public static String owner(String owner) {
      return OWNERS_PREFIX + owner;
    }

    /** The identity number of an id key. */
    public static long idOf(String idKey) {
      return Long.parseLong(idKey.substring(ID_PREFIX.length()));
    }

    /** The identity number of a reference key. */
    public static long idOfRef(String refKey) {
      String rest = refKey.substring(REFS_PREFIX.length());
      return Long.parseLong(rest.substring(0, rest.indexOf('/')));
    }
  }

  /** Keys of the IPAM service. */
  public static final class Ipam {
    public static final String PREFIX = ROOT + "ipam/";
    public static final String NODES_PREFIX = PREFIX + "nodes/";
    public static final String BLOCKS_PREFIX = PREFIX + "blocks/";

    private Ipam() {}

    /** A node's CIDRs. */
    public static String node(String node) {
      return NODES_PREFIX + node;
    }

    /** The node name of a node key. */
    public static String nodeOf(String nodeKey) {
      return nodeKey.substring(NODES_PREFIX.length());
    }

    /** The prefix of one family's blocks ({@code ipv4}, {@code ipv6}). */
    public static String blocks(String family) {
      return BLOCKS_PREFIX + family + "/";
    }

    /** The key that says which node holds a block. */
    public static String block(String family, String cidr) {
      return blocks(family) + cidr.replace('/', '_');
    }

    /** The CIDR of a block key. */
    public static String cidrOf(String family, String blockKey) {
      return blockKey.substring(blocks(family).length()).replace('_', '/');
    }
  }

  /** The standalone resource store, written by {@code porin apply}. */
  public static final class Resources {
    public static final String PREFIX = ROOT + "resources/";

    /** The namespace segment of cluster-scoped resources (not a valid namespace name). */
    public static final String CLUSTER_SCOPE = "_";

    private Resources() {}

    /** The prefix of one kind (by its plural, e.g. {@code networkpolicies}). */
    public static String kind(String plural) {
      return PREFIX + plural + "/";
    }

    /** The prefix of one kind in one namespace. */
    public static String namespace(String plural, String namespace) {
      return kind(plural) + (namespace.isEmpty() ? CLUSTER_SCOPE : namespace) + "/";
    }

    /** One resource's key. */
    public static String resource(String plural, String namespace, String name) {
      return namespace(plural, namespace) + name;
    }
  }

  /** The policy service's own state. */
  public static final class Policy {
    /**
     * Policy revisions up to this value may have been handed out (the service reserves blocks
     * ahead): a restarted service continues after it, so revisions never go backwards.
     */
    public static final String REVISION_RESERVED = ROOT + "policy/revision-reserved";

    private Policy() {}
  }

  /** Nodes, published by their agents. */
  public static final class Nodes {
    public static final String PREFIX = ROOT + "nodes/";

    private Nodes() {}

    public static String node(String name) {
      return PREFIX + name;
    }
  }

  /**
   * Endpoints (IP to identity), published by the agent hosting them: the cluster's ipcache. Keyed
   * by node, then IP ({@code endpoints/<node>/<ip>}), so that etcd lets each node's certificate
   * write its own endpoints only; readers take an endpoint only when its IP lies in that node's pod
   * CIDRs.
   */
  public static final class Endpoints {
    public static final String PREFIX = ROOT + "endpoints/";

    private Endpoints() {}

    /** Everything {@code node} publishes. */
    public static String ofNode(String node) {
      return PREFIX + node + "/";
    }

    public static String endpoint(String node, String ip) {
      return ofNode(node) + ip;
    }

    /** The node part of an endpoint key, or empty when the key is not one. */
    public static java.util.Optional<String> nodeOf(String key) {
      if (!key.startsWith(PREFIX)) {
        return java.util.Optional.empty();
      }
      int slash = key.indexOf('/', PREFIX.length());
      return slash <= PREFIX.length() || slash == key.length() - 1
          ? java.util.Optional.empty()
          : java.util.Optional.of(key.substring(PREFIX.length(), slash));
    }

    /** The IP part of an endpoint key, or empty when the key is not one. */
    public static java.util.Optional<String> ipOf(String key) {
      return nodeOf(key).map(n -> key.substring(ofNode(n).length()));
    }
  }

  /**
   * The audit log of changes: {@code audit/<service>/<epoch millis, 13 digits>-<sequence>}, one
   * JSON object each, so that keys sort by time within a service.
   */
  public static final class Audit {
    public static final String PREFIX = ROOT + "audit/";

    private Audit() {}

    /** Everything {@code service} recorded. */
    public static String ofService(String service) {
      return PREFIX + service + "/";
    }

    public static String record(String service, long epochMillis, long sequence) {
      return ofService(service) + String.format("%013d-%06d", epochMillis, sequence);
    }

    /** When a record's key says it was made (epoch millis), or -1 when it is not a record key. */
    public static long millisOf(String key) {
      int slash = key.lastIndexOf('/');
      int dash = key.indexOf('-', slash);
      try {
        return slash < 0 || dash < 0 ? -1 : Long.parseLong(key.substring(slash + 1, dash));
      } catch (NumberFormatException e) {
        return -1;
      }
    }
  }

  /** The cluster CA's deny list: {@code ca/revoked/<kind>/<name>} holds when, and by whom. */
  /**
   * Joins (Kubernetes): {@code ca/joins/<pod uid>} -> the identity and the SHA-256 of the key the
   * pod joined with, on a lease: a pod joins once.
   */
  public static final class Joins {
    public static final String PREFIX = ROOT + "ca/joins/";

    private Joins() {}

    public static String of(String podUid) {
      return PREFIX + podUid;
    }
  }

  /**
   * Readmissions: {@code ca/readmitted/<kind>/<name>} -> when an admin let a revoked identity join
   * again (certificates issued before its revocation stay refused).
   */
  public static final class Readmissions {
    public static final String PREFIX = ROOT + "ca/readmitted/";

    private Readmissions() {}

    public static String of(String kind, String name) {
      return PREFIX + kind + "/" + name;
    }
  }

  public static final class Revocations {
    public static final String PREFIX = ROOT + "ca/revoked/";

    private Revocations() {}

    public static String of(String kind, String name) {
      return PREFIX + kind + "/" + name;
    }
  }

  /**
   * ClusterMesh: what this cluster exports to its peers (keys under {@link #EXPORTED}, relative to
   * {@link Keys#ROOT}), and each connected peer's state imported under {@code mesh/<cluster>/} with
   * the same relative keys (Cilium's kvstoremesh model), with the peer's revision reached.
   */
  public static final class Mesh {
    public static final String PREFIX = ROOT + "mesh/";

    /** What a cluster exports: identities (by ID), endpoints, nodes and services. */
    public static final java.util.List<String> EXPORTED =
        java.util.List.of("identities/id/", "endpoints/", "nodes/", "services/");

    private Mesh() {}

    /** Whether a key of this cluster (absolute) is exported; its relative key when it is. */
    public static java.util.Optional<String> exported(String key) {
      if (!key.startsWith(ROOT)) {
        return java.util.Optional.empty();
      }
      String relative = key.substring(ROOT.length());
      for (String p : EXPORTED) {
        if (relative.startsWith(p) && relative.length() > p.length()) {
          return java.util.Optional.of(relative);
        }
      }
      return java.util.Optional.empty();
    }

    /** Everything imported from one peer cluster. */
    public static String ofCluster(String cluster) {
      return PREFIX + cluster + "/";
    }

    /** The state of one peer cluster imported under this cluster's store. */
    public static String imported(String cluster, String relativeKey) {
      return PREFIX + cluster + "/state/" + relativeKey;
    }

    /** The prefix of one peer's imported state. */
    public static String importedPrefix(String cluster) {
      return PREFIX + cluster + "/state/";
    }

    /**
     * The identity a key of imported state names ({@code mesh/<cluster>/state/identities/id/<n>}),
     * or -1 when it names none.
     */
    public static long importedIdentity(String key) {
      if (!key.startsWith(PREFIX)) {
        return -1;
      }
      String rest = key.substring(PREFIX.length());
      int slash = rest.indexOf('/');
      String marker = "/state/identities/id/";
      if (slash <= 0 || !rest.startsWith(marker, slash)) {
        return -1;
      }
      try {
        return Long.parseLong(rest.substring(slash + marker.length()));
      } catch (NumberFormatException e) {
        return -1;
      }
    }

    /**
     * The peer's cluster ID, recorded at its first import: a peer that later claims another ID is
     * refused (its identities are numbered in it).
     */
    public static String info(String cluster) {
      return PREFIX + cluster + "/info";
    }

    /** The peer cluster a key under {@link #PREFIX} belongs to ("" when none). */
    public static String peerOf(String key) {
      if (!key.startsWith(PREFIX)) {
        return "";
      }
      int slash = key.indexOf('/', PREFIX.length());
      return slash < 0 ? "" : key.substring(PREFIX.length(), slash);
    }

    /** The peer's etcd revision up to which its state was imported. */
    public static String revision(String cluster) {
      return PREFIX + cluster + "/revision";
    }
  }

  /** Services: the load balancers' and the cluster DNS's view, and what services hold. */
  public static final class Services {
    public static final String PREFIX = ROOT + "services/";
    public static final String IPS_PREFIX = ROOT + "service-ips/";
    public static final String NODE_PORTS_PREFIX = ROOT + "service-nodeports/";

    private Services() {}

    /** One service's record. */
    public static String service(String namespace, String name) {
      return PREFIX + namespace + "/" + name;
    }

    /** The holder of a cluster IP. */
    public static String ip(String ip) {
      return IPS_PREFIX + ip;
    }

    /** The holder of a node port. */
    public static String nodePort(int port) {
      return NODE_PORTS_PREFIX + port;
    }
  }
}
