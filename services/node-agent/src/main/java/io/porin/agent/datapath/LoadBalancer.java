package io.porin.agent.datapath;

import io.porin.core.ipam.Cidr;
import io.porin.core.policy.Protocol;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * The node's service load-balancing maps as the agent's service room sees them: frontends (a
 * cluster IP or node address with port and protocol) and their backends by id, the reverse
 * translation per frontend, and Maglev tables. {@code bpf.LinuxDatapath} is the kernel; tests use
 * an in-memory fake.
 */
public interface LoadBalancer {

  /** An address, port and protocol: a frontend or a backend. */
  record Address(Cidr.Family family, BigInteger address, int port, Protocol protocol) {
    @Override
    public String toString() {
      String a = Cidr.format(family, address);
      return (family == Cidr.Family.IPV6 ? "[" + a + "]" : a) + ":" + port + "/" + protocol;
    }
  }

  /**
   * What a frontend leads to.
   *
   * @param revNat the frontend's number (its reverse translation and Maglev table)
   * @param flags {@code MapLayouts.LB_*}
   * @param active ready backends' ids (slots 1..n)
   * @param terminating terminating backends' ids (used when no ready one is left)
   */
  record Service(
      int revNat, int flags, int affinityTimeout, List<Integer> active, List<Integer> terminating) {
    public Service {
      active = List.copyOf(active);
      terminating = List.copyOf(terminating);
    }
  }

  /** What the maps hold (for restore after a restart and for {@code porin bpf lb list}). */
  record State(
      Map<Address, Service> frontends,
      Map<Integer, Address> backends,
      Map<Integer, Address> revNat,
      java.util.Set<Integer> maglevTables) {}

  /**
   * Starts collecting writes: until {@link #commit}, the calls below may be held back and written
   * in bulk, in this order: backends, frontend numbers, backend slots, service entries, then the
   * removals (service entries, slots, numbers, backends) — the order the calls would have had.
   */
  default void begin() {}

  /** Writes what {@link #begin} held back. */
  default void commit() {}

  void putBackend(int id, Address backend);

  void deleteBackend(int id);

  void putRevNat(int revNat, Address frontend);

  void deleteRevNat(int revNat);

  /**
   * Makes a frontend lead to {@code service}: backend slots first, then the service entry, then
   * slots no longer used, so a packet never sees a count with missing slots behind it.
   */
  void putFrontend(Address frontend, Service service, Service previous);

  /** Removes a frontend: its service entry first, then its slots. */
  void deleteFrontend(Address frontend, Service previous);

  /** The Maglev table of a frontend (backend id per slot), replacing the old one whole. */
  void putMaglev(int revNat, int[] backendIds);

  void deleteMaglev(int revNat);

  /** Reads everything back. */
  State read();
}
