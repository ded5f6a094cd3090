package io.porin.core.policy;

import java.util.Optional;

/**
 * Cilium's entities: names for groups of peers. {@code DNS} (also written {@code kube-dns}) is
 * Porin's: the cluster's DNS pods on port 53, as the guides in seed-examples expect.
 */
public enum Entity {
  ALL("all"),
  WORLD("world"),
  CLUSTER("cluster"),
  HOST("host"),
  REMOTE_NODE("remote-node"),
  KUBE_APISERVER("kube-apiserver"),
  HEALTH("health"),
  INIT("init"),
  INGRESS("ingress"),
  UNMANAGED("unmanaged"),
  NONE("none"),
  DNS("dns");

  private final String written;

  Entity(String written) {
    this.written = written;
  }

  public String written() {
    return written;
  }

  public static Optional<Entity> parse(String text) {
    if ("kube-dns".equals(text)) {
      return Optional.of(DNS);
    }
    for (Entity e : values()) {
      if (e.written.equals(text)) {
        return Optional.of(e);
      }
    }
    return Optional.empty();
  }
}
