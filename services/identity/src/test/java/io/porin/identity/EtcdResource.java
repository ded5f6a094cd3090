package io.porin.identity;

import io.porin.service.testing.EtcdTestResource;
import java.util.Map;

/** A real etcd for the identity service under test, with short lease and GC times. */
public class EtcdResource extends EtcdTestResource {
  @Override
  protected Map<String, String> settings() {
    return Map.of(
        // the CA's online part: renewals are signed here
        "porin.ca.dir",
        io.porin.service.testing.EtcdTestResource.pki().caFile().getParent().toString(),
        "porin.identity.owner-ttl",
        "3s",
        "porin.identity.gc-interval",
        "500ms",
        "porin.identity.gc-grace-period",
        "1s");
  }

  @Override
  protected String service() {
    return "identity";
  }
}
