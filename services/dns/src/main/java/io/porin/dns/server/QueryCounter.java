package io.porin.dns.server;

import io.porin.dns.zone.Rcode;

/** Counts answered queries by response code (the metrics). */
@FunctionalInterface
public interface QueryCounter {
  void answered(Rcode rcode);
}
