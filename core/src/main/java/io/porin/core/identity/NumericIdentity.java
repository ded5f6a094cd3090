package io.porin.core.identity;

import java.util.Optional;

/**
 * A security identity as the datapath sees it: an unsigned 32-bit number.
 *
 * <pre>
 *  31        25 24 23            16 15                             0
 * +------------+--+----------------+--------------------------------+
 * |  scope (0) |L |  cluster ID    |  identity within the cluster   |
 * +------------+--+----------------+--------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>0 is unknown; 1..255 are reserved (see {@link ReservedIdentity}) and never allocated.
 *   <li>Cluster-scoped identities are {@code clusterId << 16 | n} with cluster ID 1..255 and n in
 *       {@value #MIN_CLUSTER_LOCAL}..{@value #MAX_CLUSTER_LOCAL}, so meshed clusters never collide.
 *   <li>Local-scope identities (CIDR, FQDN; node-local, never stored in etcd) have bit 24 ({@link
 *       #LOCAL_SCOPE}) set.
 * </ul>
 *
 * Same layout as Cilium's {@code pkg/identity/numericidentity.go} with 255 connected clusters.
 */
public record NumericIdentity(int value) implements Comparable<NumericIdentity> {

  /** No identity known yet. */
  public static final int UNKNOWN = 0;

  /** Highest reserved identity (user-defined reserved ones included). */
  public static final int MAX_RESERVED = 255;

  /** Where the cluster ID sits. */
  public static final int CLUSTER_ID_SHIFT = 16;

  /** Smallest cluster ID that may allocate identities. */
  public static final int MIN_CLUSTER_ID = 1;

  /** Largest cluster ID (8 bits of cluster ID: 255 connected clusters). */
  public static final int MAX_CLUSTER_ID = 255;

  /** Smallest per-cluster identity number. */
  public static final int MIN_CLUSTER_LOCAL = 256;

  /** Largest per-cluster identity number. */
  public static final int MAX_CLUSTER_LOCAL = 0xFFFF;

  /** The local-scope bit: set on node-local (CIDR, FQDN) identities. */
  public static final int LOCAL_SCOPE = 1 << 24;

  /** The mask of the scope bits. */
  public static final int SCOPE_MASK = 0xFF000000;

  public NumericIdentity {
    if (value < 0) {
      throw new IllegalArgumentException(
          "identity " + Integer.toUnsignedString(value) + " is out of range");
    }
  }

  /** The identity {@code clusterId << 16 | n}. */
  public static NumericIdentity ofCluster(int clusterId, int n) {
    checkClusterId(clusterId);
    if (n < MIN_CLUSTER_LOCAL || n > MAX_CLUSTER_LOCAL) {
      throw new IllegalArgumentException(
          "identity number " + n + " is outside " + MIN_CLUSTER_LOCAL + ".." + MAX_CLUSTER_LOCAL);
    }
    return new NumericIdentity(clusterId << CLUSTER_ID_SHIFT | n);
  }

  /** The smallest identity a cluster allocates. */
  public static NumericIdentity minOfCluster(int clusterId) {
    return ofCluster(clusterId, MIN_CLUSTER_LOCAL);
  }

  /** The largest identity a cluster allocates. */
  public static NumericIdentity maxOfCluster(int clusterId) {
    return ofCluster(clusterId, MAX_CLUSTER_LOCAL);
  }

  /**
   * Checks a cluster ID.
   *
   * @throws IllegalArgumentException naming the value when it is outside 1..255
   */
  public static int checkClusterId(int clusterId) {
    if (clusterId < MIN_CLUSTER_ID || clusterId > MAX_CLUSTER_ID) {
      throw new IllegalArgumentException(
          "cluster ID " + clusterId + " is outside " + MIN_CLUSTER_ID + ".." + MAX_CLUSTER_ID);
    }
    return clusterId;
  }

  /** Parses a decimal identity. */
  public static NumericIdentity parse(String text) {
    try {
      long v = Long.parseLong(text.strip());
      if (v < 0 || v > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("identity \"" + text + "\" is out of range");
      }
      return new NumericIdentity((int) v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("identity \"" + text + "\" is not a number", e);
    }
  }

  /** True for 1..255. */
  public boolean isReserved() {
    return value > UNKNOWN && value <= MAX_RESERVED;
  }

  /** True for node-local identities (CIDR, FQDN). */
  public boolean isLocal() {
    return (value & SCOPE_MASK) == LOCAL_SCOPE;
  }

  /** True for identities allocated cluster-wide (cluster ID in bits 16..23). */
  public boolean isClusterScoped() {
    return (value & SCOPE_MASK) == 0 && clusterId() >= MIN_CLUSTER_ID;
  }

  /** The cluster ID bits (0 for reserved and local identities). */
  public int clusterId() {
    return (value & SCOPE_MASK) == 0 ? (value >>> CLUSTER_ID_SHIFT) & 0xFF : 0;
  }

  /** The reserved identity this is, if it is one Porin defines. */
  public Optional<ReservedIdentity> reserved() {
    return ReservedIdentity.of(this);
  }

  @Override
  public int compareTo(NumericIdentity o) {
    return Integer.compareUnsigned(value, o.value);
  }

  @Override
  public String toString() {
    return Integer.toUnsignedString(value);
  }
}
