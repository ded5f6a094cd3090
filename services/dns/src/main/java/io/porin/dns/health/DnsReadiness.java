package io.porin.dns.health;

import io.porin.dns.server.DnsServer;
import io.porin.dns.source.ZoneSync;
import io.porin.dns.zone.DnsZone;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the zone is loaded from etcd (services and endpoints) and every socket is bound. */
@Readiness
@ApplicationScoped
public class DnsReadiness implements HealthCheck {
  @Inject ZoneSync sync;
  @Inject DnsServer server;

  @Override
  public HealthCheckResponse call() {
    DnsZone zone = sync.zone();
    var r =
        HealthCheckResponse.named("dns")
            .withData("zoneLoaded", zone.loaded())
            .withData("socketsBound", server.bound())
            .withData("services", zone.serviceCount())
            .withData("podAddresses", zone.podCount());
    return zone.loaded() && server.bound() ? r.up().build() : r.down().build();
  }
}
