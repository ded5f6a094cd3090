package io.porin.agent.control;

/** Keys this node publishes to the cluster (etcd, on the node's lease): {@link Publisher}. */
public interface Publication {
  void put(String key, String value);

  void remove(String key);
}
