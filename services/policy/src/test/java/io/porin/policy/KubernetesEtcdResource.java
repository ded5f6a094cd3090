package io.porin.policy;

import io.porin.service.testing.EtcdTestResource;
import java.util.Map;

/** A real etcd (for identities) with the Kubernetes source selected. */
public class KubernetesEtcdResource extends EtcdTestResource {
  @Override
  protected Map<String, String> settings() {
    return Map.of("porin.policy.source", "kubernetes");
  }

  @Override
  protected String service() {
    return "policy";
  }
}
