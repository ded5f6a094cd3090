package io.porin.dns.zone;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * A record of an answer. Names are absolute, with the trailing dot; owner names keep the case of
 * the question (resolvers that randomise case compare it), targets are lower case.
 */
public sealed interface ResourceRecord {
  /** The owner name. */
  String name();

  /** Seconds a resolver may cache the record. */
  int ttl();

  /** The record type number. */
  int type();

  /** A (IPv4) or AAAA (IPv6), by the address's family. */
  record Address(String name, int ttl, InetAddress address) implements ResourceRecord {
    @Override
    public int type() {
      return address instanceof Inet4Address ? Question.A : Question.AAAA;
    }
  }

  /** SRV (RFC 2782). */
  record Srv(String name, int ttl, int priority, int weight, int port, String target)
      implements ResourceRecord {
    @Override
    public int type() {
      return Question.SRV;
    }
  }

  /** The zone's start of authority; {@code minimum} is the negative-caching TTL (RFC 2308). */
  record Soa(
      String name,
      int ttl,
      String mname,
      String rname,
      long serial,
      int refresh,
      int retry,
      int expire,
      int minimum)
      implements ResourceRecord {
    @Override
    public int type() {
      return Question.SOA;
    }
  }

  /** NS. */
  record Ns(String name, int ttl, String host) implements ResourceRecord {
    @Override
    public int type() {
      return Question.NS;
    }
  }

  /** PTR: the name of an address (reverse lookups). */
  record Ptr(String name, int ttl, String host) implements ResourceRecord {
    @Override
    public int type() {
      return Question.PTR;
    }
  }
}
