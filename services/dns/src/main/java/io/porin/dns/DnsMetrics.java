package io.porin.dns;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.porin.dns.server.QueryCounter;
import io.porin.dns.source.ZoneSync;
import io.porin.dns.zone.Rcode;
import java.util.EnumMap;
import java.util.Map;

/**
 * The DNS's metrics: {@code porin_dns_queries_total{rcode}} (every response code registered at
 * start, so each shows from zero) and the zone's size ({@code porin_dns_zone_services}, {@code
 * porin_dns_zone_pod_addresses}).
 */
final class DnsMetrics implements QueryCounter {
  private final Map<Rcode, Counter> queries = new EnumMap<>(Rcode.class);

  DnsMetrics(MeterRegistry registry, ZoneSync sync) {
    for (Rcode r : Rcode.values()) {
      queries.put(
          r,
          Counter.builder("porin.dns.queries")
              .description("DNS queries answered, by response code")
              .tag("rcode", r.name())
              .register(registry));
    }
    Gauge.builder("porin.dns.zone.services", sync, s -> s.zone().serviceCount())
        .description("Services in the zone")
        .register(registry);
    Gauge.builder("porin.dns.zone.pod.addresses", sync, s -> s.zone().podCount())
        .description("Published pod addresses in the zone")
        .register(registry);
  }

  @Override
  public void answered(Rcode rcode) {
    queries.get(rcode).increment();
  }
}
