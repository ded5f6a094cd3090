package io.porin.agent.testing;

import io.grpc.Status;
import io.porin.agent.control.IdentityClient;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The identity service in memory: one identity per label set (from 70001), references per owner;
 * {@link #down} makes every call fail as an unreachable service does.
 */
public final class FakeIdentityClient implements IdentityClient {
  private final Map<String, Integer> ids = new HashMap<>();
  public final Map<Integer, Integer> references = new HashMap<>();
  public boolean down;
  public long ttl = 30;
  private int next = 70001;

  private void reachable() {
    if (down) {
      throw Status.UNAVAILABLE.withDescription("identity service down").asRuntimeException();
    }
  }

  /** The identity a label set gets (allocating it). */
  public synchronized int idOf(List<String> labels) {
    return ids.computeIfAbsent(String.join(",", new TreeSet<>(labels)), k -> next++);
  }

  @Override
  public synchronized int allocate(List<String> labels, String owner) {
    reachable();
    int id = idOf(labels);
    references.put(id, 1);
    return id;
  }

  @Override
  public synchronized boolean release(int identity, String owner) {
    reachable();
    return references.remove(identity) != null;
  }

  @Override
  public synchronized long keepAlive(String owner) {
    reachable();
    return ttl;
  }

  public synchronized boolean referenced(int identity) {
    return references.containsKey(identity);
  }
}
