package io.porin.policy;

import io.porin.service.testing.EtcdTestResource;
import java.util.Map;

/** A real etcd for the policy service under test, standalone source. */
public class EtcdResource extends EtcdTestResource {
  @Override
  protected Map<String, String> settings() {
    return Map.of("porin.policy.source", "standalone");
  }

  @Override
  protected String service() {
    return "policy";
  }
}
