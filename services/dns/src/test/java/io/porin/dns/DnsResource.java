package io.porin.dns;

import io.porin.kvstore.testing.EtcdProcess;
import io.porin.service.testing.EtcdTestResource;
import java.util.Map;

/** A real etcd for the packaged DNS, which serves DNS on a free port on 127.0.0.1. */
public class DnsResource extends EtcdTestResource {
  /** The DNS port (UDP and TCP) of the running service. */
  public static volatile int dnsPort;

  @Override
  protected Map<String, String> settings() {
    dnsPort = EtcdProcess.freePort();
    return Map.of("porin.dns.port", Integer.toString(dnsPort), "porin.dns.bind", "127.0.0.1");
  }

  @Override
  protected String service() {
    return "dns";
  }
}
