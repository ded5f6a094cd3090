package io.porin.core.ipam;

import java.math.BigInteger;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Hands out pod IPs from one node CIDR, by owner (a container ID). Idempotent per owner: a retried
 * CNI ADD gets the same IP. Never hands out the network address, the IPv4 broadcast address, or the
 * node's gateway address (the first address after the network). State is saved through {@link
 * Store} after every change so that the agent can restore it after a restart.
 *
 * <p>Not thread-safe: methods that change state are {@code synchronized}.
 */
public final class PodIpAllocator {

  /** Where allocations are kept between restarts (a file, a BPF map, etcd...). */
  public interface Store {
    /** Every saved allocation: owner to address. */
    Map<String, BigInteger> load();

    /** Records one allocation; called before the address is handed out. */
    void save(String owner, BigInteger address);

    /** Forgets one allocation. */
    void delete(String owner);
  }

  /** Pod IP range is full. */
  public static final class ExhaustedException extends RuntimeException {
    public ExhaustedException(Cidr cidr, int used) {
      super("no free pod IP in " + cidr + ": " + used + " addresses are allocated");
    }
  }

  private final Cidr cidr;
  private final Store store;
  private final Map<String, BigInteger> byOwner = new HashMap<>();
  private final TreeSet<BigInteger> used = new TreeSet<>();
  private final BigInteger first;
  private final BigInteger last;
  private BigInteger next;

  /** Restores from the store whatever lies in this CIDR; allocations outside it are dropped. */
  public PodIpAllocator(Cidr cidr, Store store) {
    this.cidr = cidr;
    this.store = store;
    BigInteger gatewayOffset = BigInteger.ONE;
    boolean v4 = cidr.family() == Cidr.Family.IPV4;
    // Smallest blocks (/31, /32, /127, /128) have no network/broadcast/gateway to spare.
    if (cidr.size().compareTo(BigInteger.valueOf(4)) < 0) {
      throw new IllegalArgumentException(
          cidr + " is too small for pods (needs at least 4 addresses)");
    }
    this.first = cidr.network().add(gatewayOffset).add(BigInteger.ONE);
    this.last = v4 ? cidr.last().subtract(BigInteger.ONE) : cidr.last();
    this.next = first;
    store
        .load()
        .forEach(
            (owner, ip) -> {
              if (ip.compareTo(first) >= 0 && ip.compareTo(last) <= 0) {
                byOwner.put(owner, ip);
                used.add(ip);
              } else {
                store.delete(owner);
              }
            });
  }

  /** The node CIDR. */
  public Cidr cidr() {
    return cidr;
  }

  /** The node's own address in this CIDR: pods route through it. */
  public BigInteger gateway() {
    return cidr.network().add(BigInteger.ONE);
  }

  /** How many pod addresses the CIDR has. */
  public BigInteger capacity() {
    return last.subtract(first).add(BigInteger.ONE);
  }

  /**
   * The owner's address, allocating one if it has none.
   *
   * @throws ExhaustedException naming the CIDR when every address is taken
   */
  public synchronized BigInteger allocate(String owner) {
    BigInteger have = byOwner.get(owner);
    if (have != null) {
      return have;
    }
    if (BigInteger.valueOf(used.size()).compareTo(capacity()) >= 0) {
      throw new ExhaustedException(cidr, used.size());
    }
    // Next-fit from the last allocation, so a just-released address is not reused at once.
    BigInteger ip = next;
    while (used.contains(ip)) {
      ip = ip.equals(last) ? first : ip.add(BigInteger.ONE);
    }
    store.save(owner, ip);
    byOwner.put(owner, ip);
    used.add(ip);
    next = ip.equals(last) ? first : ip.add(BigInteger.ONE);
    return ip;
  }

  /** Releases the owner's address; false when it had none. */
  public synchronized boolean release(String owner) {
    BigInteger ip = byOwner.remove(owner);
    if (ip == null) {
      return false;
    }
    store.delete(owner);
    used.remove(ip);
    return true;
  }

  /** The owner's address, if it has one. */
  public synchronized Optional<BigInteger> addressOf(String owner) {
    return Optional.ofNullable(byOwner.get(owner));
  }

  /** How many addresses are allocated. */
  public synchronized int usedCount() {
    return used.size();
  }
}
