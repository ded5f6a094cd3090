package io.porin.agent.control;

import io.porin.core.ipam.Cidr;

/** The ipcache entries of this node's own endpoints, written before etcd has them. */
public interface LocalIpcache {
  void putLocal(Cidr prefix, int identity);

  void removeLocal(Cidr prefix);
}
