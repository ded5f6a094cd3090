package io.porin.clustermesh;

import io.porin.kvstore.testing.TestPki;
import io.porin.service.testing.EtcdTestResource;
import java.util.HashMap;
import java.util.Map;

/**
 * The clustermesh service of cluster "east" (ID 1, pods 10.200.0.0/16) over a real etcd, trusting
 * its own CA and, for the clients of its port only, the CA of cluster "west" ({@code
 * porin.tls.client-cas}).
 */
public class MeshResource extends EtcdTestResource {
  /** The peer cluster's CA. */
  public static TestPki west() {
    return TestPki.named("west");
  }

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "porin.cluster.name", "east",
        "porin.clustermesh.cluster-id", "1",
        "porin.clustermesh.pod-cidrs", "10.200.0.0/16,fd00:200::/48");
  }

  @Override
  protected String service() {
    return "clustermesh";
  }

  @Override
  public Map<String, String> start() {
    Map<String, String> config = new HashMap<>(super.start());
    config.put("porin.tls.client-cas", west().caFile().toAbsolutePath().toString());
    return config;
  }
}
