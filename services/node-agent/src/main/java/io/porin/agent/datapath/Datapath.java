package io.porin.agent.datapath;

import io.porin.core.ipam.Cidr;
import java.math.BigInteger;
import java.util.Map;
import java.util.Optional;

/**
 * The node's datapath as the agent's control logic sees it: programs on pod interfaces, the
 * endpoint, local-address, policy and ipcache maps, and each endpoint's connection state. {@code
 * bpf.LinuxDatapath} is the kernel; tests use an in-memory fake.
 */
public interface Datapath {
  /** Attaches (or atomically replaces) both programs on a pod's host-side interface. */
  void attach(int ifindex);

  /** True when both hooks of the interface carry a program. */
  boolean attached(int ifindex);

  // ---- endpoints

  void putEndpoint(int ifindex, EndpointConfig config);

  Optional<EndpointConfig> endpoint(int ifindex);

  boolean deleteEndpoint(int ifindex);

  /** A local endpoint's address, for the same-node fast path: traffic to it goes to ifindex. */
  void putLocalAddress(Cidr.Family family, BigInteger address, int ifindex);

  boolean deleteLocalAddress(Cidr.Family family, BigInteger address);

  /**
   * Gives an endpoint empty connection-tracking and fragment maps (conntrack of {@code
   * conntrackSize} entries), replacing whatever an earlier endpoint of the same id left: no
   * connection of a deleted pod survives into a new pod on its id or address.
   */
  void resetConnections(int endpointId, int conntrackSize);

  /** Whether an endpoint id has connection-tracking maps. */
  boolean hasConnections(int endpointId);

  /** Removes everything the datapath holds for an endpoint id: policy slots, classes, conntrack. */
  void forgetEndpoint(int endpointId);

  // ---- policy (two slots per endpoint: written while the other one is live)

  /**
   * Makes one policy slot of an endpoint hold {@code content} (writes what changed, deletes what
   * went). Refuses whole, writing nothing, what does not fit.
   *
   * @return the number of writes and deletes done
   * @throws PolicyMapOverflowException when the entries do not fit
   */
  int writePolicy(int endpointId, int slot, PolicyContent content);

  /** One slot's policy map as the datapath holds it (empty when there is none). */
  Map<PolicyKey, PolicyValue> readPolicy(int endpointId, int slot);

  // ---- ipcache

  /** Writes many ipcache entries in one call. */
  void putIpcache(Map<Cidr, Integer> entries);

  boolean deleteIpcache(Cidr prefix);

  /** Every ipcache entry, as the datapath holds it. */
  Map<Cidr, Integer> ipcache();

  /** After ipcache changes: established connections check their peer's identity again. */
  void ipcacheChanged();

  // ---- node-wide state

  /** The last endpoint revision handed out on this node (survives agent restarts). */
  int lastRevision();

  void saveLastRevision(int revision);

  // ---- conntrack

  /**
   * Garbage-collects one endpoint's conntrack: deletes entries that expired before {@code nowNanos}
   * (the datapath's monotonic clock) and counts the rest.
   */
  ConntrackSweep sweepConntrack(int endpointId, long nowNanos);
}
