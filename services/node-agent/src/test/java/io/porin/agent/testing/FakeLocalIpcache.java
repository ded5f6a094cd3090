package io.porin.agent.testing;

import io.porin.agent.control.LocalIpcache;
import io.porin.core.ipam.Cidr;
import java.util.HashMap;
import java.util.Map;

/** This node's local ipcache entries in memory. */
public final class FakeLocalIpcache implements LocalIpcache {
  private final Journal journal;
  public final Map<Cidr, Integer> entries = new HashMap<>();

  public FakeLocalIpcache(Journal journal) {
    this.journal = journal;
  }

  @Override
  public synchronized void putLocal(Cidr prefix, int identity) {
    journal.add("ipcache " + prefix + " " + identity);
    entries.put(prefix, identity);
  }

  @Override
  public synchronized void removeLocal(Cidr prefix) {
    journal.add("unipcache " + prefix);
    entries.remove(prefix);
  }
}
