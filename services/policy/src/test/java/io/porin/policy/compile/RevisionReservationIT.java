package io.porin.policy.compile;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.labels.LabelFilter;
import io.porin.core.policy.PolicySettings;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.testing.EtcdProcess;
import io.porin.policy.Identities;
import io.porin.policy.source.StandaloneSource;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Policy revisions never go backwards across a restart of the policy service: a second engine on
 * the same etcd continues after what the first one may have handed out (against a real etcd).
 */
class RevisionReservationIT {

  private static long awaitRevisionAbove(PolicyEngine engine, long floor) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      long r = engine.state().revision();
      if (engine.state().synced() && r > floor) {
        return r;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no revision above " + floor + ": " + engine.state().revision());
  }

  private static PolicyEngine engine(KvStore kv) {
    return new PolicyEngine(
            kv,
            new StandaloneSource(kv),
            PolicySettings.defaults(1),
            LabelFilter.defaults(),
            "default")
        .start();
  }

  @Test
  void aRestartedEngineContinuesAfterTheRevisionsTheFirstMayHaveHandedOut() throws Exception {
    try (EtcdProcess etcd = EtcdProcess.start("revisions");
        KvStore kv = etcd.connect()) {
      long first;
      try (PolicyEngine one = engine(kv)) {
        Identities.put(kv, 70001, Identities.podLabels("demo", Map.of("app", "a"), Map.of()));
        long r1 = awaitRevisionAbove(one, 0);
        Identities.put(kv, 70002, Identities.podLabels("demo", Map.of("app", "b"), Map.of()));
        first = awaitRevisionAbove(one, r1);
      }
      String reserved = kv.get(Keys.Policy.REVISION_RESERVED).orElseThrow().value();
      assertThat(Long.parseLong(reserved)).isGreaterThanOrEqualTo(first);

      try (PolicyEngine two = engine(kv)) {
        long again = awaitRevisionAbove(two, 0);
        assertThat(again).as("after a restart").isGreaterThan(first);
        Identities.put(kv, 70003, Identities.podLabels("demo", Map.of("app", "c"), Map.of()));
        assertThat(awaitRevisionAbove(two, again)).isGreaterThan(again);
      }
    }
  }
}
