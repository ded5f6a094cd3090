package io.porin.agent.testing;

import io.porin.agent.bpf.BpfException;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.ConntrackSweep;
import io.porin.agent.datapath.Datapath;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyMapOverflowException;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import java.math.BigInteger;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The datapath in memory (cilium {@code pkg/maps/policymap/fake}): what the agent wrote, as the
 * kernel would hold it, with the same refusals (a policy that does not fit). Every write goes to
 * the journal; {@link #failures} makes named operations throw as the kernel room does.
 */
public final class FakeDatapath implements Datapath {
  public final Failures failures = new Failures(m -> new BpfException(m));
  private final Journal journal;
  public final Map<Integer, EndpointConfig> endpoints = new HashMap<>();
  public final Map<String, Integer> localAddresses = new HashMap<>();
  public final Set<Integer> attached = new HashSet<>();
  public final Map<Integer, Integer> connections = new HashMap<>();
  public final Map<Integer, Integer> resets = new HashMap<>();
  public final Map<String, PolicyContent> slots = new HashMap<>();
  public final Map<Cidr, Integer> ipcache = new HashMap<>();
  public int ipcacheGeneration;
  public int lastRevision;

  /** Live and expired conntrack entries a sweep reports, by endpoint. */
  public final Map<Integer, int[]> conntrack = new HashMap<>();

  public FakeDatapath(Journal journal) {
    this.journal = journal;
  }

  private void op(String name, Object... args) {
    failures.check(name);
    StringBuilder b = new StringBuilder(name);
    for (Object a : args) {
      b.append(' ').append(a);
    }
    journal.add(b.toString());
  }

  @Override
  public synchronized void attach(int ifindex) {
    op("attach", ifindex);
    attached.add(ifindex);
  }

  @Override
  public synchronized boolean attached(int ifindex) {
    return attached.contains(ifindex);
  }

  @Override
  public synchronized void putEndpoint(int ifindex, EndpointConfig config) {
    op("putEndpoint", ifindex, config.endpointId(), config.policyRevision());
    endpoints.put(ifindex, config);
  }

  @Override
  public synchronized Optional<EndpointConfig> endpoint(int ifindex) {
    return Optional.ofNullable(endpoints.get(ifindex));
  }

  @Override
  public synchronized boolean deleteEndpoint(int ifindex) {
    op("deleteEndpoint", ifindex);
    return endpoints.remove(ifindex) != null;
  }

  @Override
  public synchronized void putLocalAddress(Cidr.Family family, BigInteger address, int ifindex) {
    op("putLocalAddress", Cidr.format(family, address));
    localAddresses.put(Cidr.format(family, address), ifindex);
  }

  @Override
  public synchronized boolean deleteLocalAddress(Cidr.Family family, BigInteger address) {
    op("deleteLocalAddress", Cidr.format(family, address));
    return localAddresses.remove(Cidr.format(family, address)) != null;
  }

  @Override
  public synchronized void resetConnections(int endpointId, int conntrackSize) {
    op("resetConnections", endpointId);
    connections.put(endpointId, conntrackSize);
    resets.merge(endpointId, 1, Integer::sum);
  }

  @Override
  public synchronized boolean hasConnections(int endpointId) {
    return connections.containsKey(endpointId);
  }

  @Override
  public synchronized void forgetEndpoint(int endpointId) {
    op("forgetEndpoint", endpointId);
    connections.remove(endpointId);
    slots.remove(endpointId + "/0");
    slots.remove(endpointId + "/1");
  }

  @Override
  public synchronized int writePolicy(int endpointId, int slot, PolicyContent content) {
    if (content.entries().size() > MapLayouts.POLICY_MAX) {
      throw new PolicyMapOverflowException(
          endpointId, content.entries().size(), MapLayouts.POLICY_MAX);
    }
    op("writePolicy", endpointId, slot, content.entries().size());
    PolicyContent before = slots.put(endpointId + "/" + slot, content);
    return content.equals(before) ? 0 : 1;
  }

  @Override
  public synchronized Map<PolicyKey, PolicyValue> readPolicy(int endpointId, int slot) {
    PolicyContent c = slots.get(endpointId + "/" + slot);
    return c == null ? Map.of() : c.entries();
  }

  /** What the live slot of the endpoint at an ifindex holds. */
  public synchronized PolicyContent livePolicy(int ifindex) {
    EndpointConfig c = endpoints.get(ifindex);
    return c == null ? null : slots.get(c.endpointId() + "/" + c.policySlot());
  }

  @Override
  public synchronized void putIpcache(Map<Cidr, Integer> entries) {
    op("putIpcache", entries.size());
    ipcache.putAll(entries);
  }

  @Override
  public synchronized boolean deleteIpcache(Cidr prefix) {
    op("deleteIpcache", prefix);
    return ipcache.remove(prefix) != null;
  }

  @Override
  public synchronized Map<Cidr, Integer> ipcache() {
    return Map.copyOf(ipcache);
  }

  @Override
  public synchronized void ipcacheChanged() {
    ipcacheGeneration++;
  }

  @Override
  public synchronized int lastRevision() {
    return lastRevision;
  }

  @Override
  public synchronized void saveLastRevision(int revision) {
    lastRevision = revision;
  }

  @Override
  public synchronized ConntrackSweep sweepConntrack(int endpointId, long nowNanos) {
    int[] liveAndExpired = conntrack.getOrDefault(endpointId, new int[] {0, 0});
    conntrack.put(endpointId, new int[] {liveAndExpired[0], 0});
    return new ConntrackSweep(
        endpointId, liveAndExpired[0], liveAndExpired[1], connections.getOrDefault(endpointId, 0));
  }
}
