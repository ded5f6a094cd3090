package io.porin.identity.gc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of the identity service and one Lease, against the fabric8 mock API server in CRUD
 * mode (no real API server here): exactly one collects at any sampled moment; when it goes, the
 * other takes over after the Lease expires.
 */
@EnableKubernetesMockClient(crud = true)
class GcLeaseTest {
  static KubernetesClient client;

  static GcLease lease(String holder) {
    return new GcLease(
        client,
        "porin-system/porin-identity-gc",
        holder,
        Duration.ofSeconds(2),
        Duration.ofMillis(1500),
        Duration.ofMillis(200));
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(20);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  @Test
  void oneReplicaCollectsAtATimeAndTheOtherTakesOverWhenItGoes() throws Exception {
    GcLease a = lease("identity-a");
    GcLease b = lease("identity-b");
    try {
      await(() -> a.leading() || b.leading(), "a leader");
      AtomicInteger both = new AtomicInteger();
      for (int i = 0; i < 40; i++) {
        if (a.leading() && b.leading()) {
          both.incrementAndGet();
        }
        Thread.sleep(50);
      }
      assertThat(both).hasValue(0);
      GcLease leader = a.leading() ? a : b;
      GcLease other = leader == a ? b : a;
      Lease held = client.leases().inNamespace("porin-system").withName("porin-identity-gc").get();
      assertThat(held.getSpec().getHolderIdentity())
          .isEqualTo(leader == a ? "identity-a" : "identity-b");
      leader.close();
      assertThat(leader.leading()).isFalse();
      await(other::leading, "the other replica to take over");
    } finally {
      a.close();
      b.close();
    }
  }

  @Test
  void aLeaseThatIsNotNamespaceSlashNameIsRefusedNamingTheSetting() {
    assertThatThrownBy(() -> new GcLease(client, "just-a-name", "x"))
        .hasMessageContaining("porin.identity.gc-lease")
        .hasMessageContaining("just-a-name");
  }
}
