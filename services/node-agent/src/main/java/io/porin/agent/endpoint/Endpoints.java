package io.porin.agent.endpoint;

import io.porin.agent.bpf.MapLayouts;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * This node's endpoints by id. One lock serialises every change to endpoints (CNI, restore, policy,
 * relabelling); methods that need it say so ({@code ...Locked}). Reads need no lock.
 */
public final class Endpoints {
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<Integer, LiveEndpoint> byId = new ConcurrentHashMap<>();

  /** Runs {@code work} under the lock and returns what it returns. */
  public <T> T call(Supplier<T> work) {
    lock.lock();
    try {
      return work.get();
    } finally {
      lock.unlock();
    }
  }

  /** Runs {@code work} under the lock. */
  public void run(Runnable work) {
    lock.lock();
    try {
      work.run();
    } finally {
      lock.unlock();
    }
  }

  /** Every endpoint, by id. */
  public List<LiveEndpoint> list() {
    List<LiveEndpoint> out = new ArrayList<>(byId.values());
    out.sort(Comparator.comparingInt(l -> l.endpoint().id()));
    return out;
  }

  public Optional<LiveEndpoint> byId(int id) {
    return Optional.ofNullable(byId.get(id));
  }

  public Optional<LiveEndpoint> byPod(String namespace, String pod) {
    return byId.values().stream()
        .filter(l -> namespace.equals(l.endpoint().namespace()) && pod.equals(l.endpoint().pod()))
        .findFirst();
  }

  public Optional<LiveEndpoint> byContainer(String containerId, String ifname) {
    return byId.values().stream()
        .filter(
            l ->
                l.endpoint().containerId().equals(containerId)
                    && l.endpoint().ifname().equals(ifname))
        .findFirst();
  }

  public Set<Integer> hostedIdentities() {
    Set<Integer> out = new HashSet<>();
    byId.values().forEach(l -> out.add(l.endpoint().identity()));
    return out;
  }

  /** Whether an endpoint other than {@code except} has this identity. */
  public boolean identityUsed(int identity, int except) {
    return byId.values().stream()
        .anyMatch(l -> l.endpoint().identity() == identity && l.endpoint().id() != except);
  }

  public int size() {
    return byId.size();
  }

  /** The lowest free endpoint id. */
  int freeIdLocked() {
    for (int i = 1; i < MapLayouts.ENDPOINTS_MAX; i++) {
      if (!byId.containsKey(i)) {
        return i;
      }
    }
    throw new EndpointsExhaustedException(byId.size());
  }

  void putLocked(LiveEndpoint live) {
    byId.put(live.endpoint().id(), live);
  }

  void removeLocked(int id) {
    byId.remove(id);
  }
}
