package io.porin.policy;

import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import java.util.Map;

/** Writes identities the way the identity service stores them (tests stand in for agents). */
public final class Identities {
  private Identities() {}

  public static LabelSet podLabels(
      String ns, Map<String, String> labels, Map<String, String> nsLabels) {
    // the service's cluster name is the default one (porin.cluster.name unset)
    return LabelFilter.defaults()
        .filter(EndpointLabels.all("default", ns, labels, nsLabels))
        .identityLabels();
  }

  public static void put(KvStore kv, int id, LabelSet labels) {
    kv.transaction()
        .put(Keys.Identities.id(id), labels.canonical())
        .put(Keys.Identities.value(labels.canonical()), Integer.toString(id))
        .commit();
  }
}
