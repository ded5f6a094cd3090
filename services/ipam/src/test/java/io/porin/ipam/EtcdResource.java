package io.porin.ipam;

import io.porin.service.testing.EtcdTestResource;
import java.util.Map;

/** A real etcd for the IPAM service under test, with a small IPv4 pool list. */
public class EtcdResource extends EtcdTestResource {
  @Override
  protected Map<String, String> settings() {
    return Map.of("porin.ipam.cluster-pool-ipv4-pod-cidr-list", "10.10.0.0/23,10.20.0.0/24");
  }

  @Override
  protected String service() {
    return "ipam";
  }
}
