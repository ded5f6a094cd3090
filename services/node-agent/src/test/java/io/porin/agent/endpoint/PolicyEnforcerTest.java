package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.testing.FakePolicySource;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a policy reaches an endpoint's maps: idle slot first, then one switch, a new revision. */
class PolicyEnforcerTest {
  @TempDir Path state;
  private Room room;
  private LiveEndpoint web;

  @BeforeEach
  void endpoint() {
    room = new Room(state);
    web = room.add(room.pod("demo", "web", "k8s:app=web"));
  }

  private EndpointConfig kernel() {
    return room.datapath.endpoints.get(web.endpoint().ifindex());
  }

  private void apply(io.porin.core.policy.IdentityPolicy p) {
    room.endpoints.run(() -> room.enforcer.applyLocked(web, p, 2));
  }

  @Test
  void theIdleSlotIsWrittenThenTheEndpointSwitchesToIt() {
    int identity = web.endpoint().identity();
    EndpointConfig before = kernel();
    room.journal.clear();
    apply(FakePolicySource.admitting(identity, 1, 80));
    EndpointConfig after = kernel();
    assertThat(after.policySlot()).isEqualTo(before.policySlot() ^ 1);
    // the slot that was live is untouched; the write precedes the switch
    assertThat(room.journal.entries())
        .containsExactly(
            "writePolicy " + web.endpoint().id() + " " + after.policySlot() + " 1",
            "putEndpoint "
                + web.endpoint().ifindex()
                + " "
                + web.endpoint().id()
                + " "
                + after.policyRevision());
    apply(FakePolicySource.admitting(identity, 1, 81));
    assertThat(kernel().policySlot()).isEqualTo(before.policySlot());
  }

  @Test
  void anIpBlockEditIsAPolicyChange() {
    int identity = web.endpoint().identity();
    apply(Policies.egressToBlock(identity, "10.0.0.0/8"));
    int revision = kernel().policyRevision();
    // the same entries (class 1 on 443), only the block behind class 1 narrows
    apply(Policies.egressToBlock(identity, "10.1.0.0/16"));
    assertThat(kernel().policyRevision()).isNotEqualTo(revision);
    assertThat(room.datapath.livePolicy(web.endpoint().ifindex()).egressClasses())
        .containsOnlyKeys(io.porin.core.ipam.Cidr.parse("10.1.0.0/16"));
  }

  @Test
  void theSamePolicyAgainWritesNothing() {
    int identity = web.endpoint().identity();
    apply(FakePolicySource.admitting(identity, 1, 80));
    room.journal.clear();
    apply(FakePolicySource.admitting(identity, 1, 80));
    assertThat(room.journal.entries()).isEmpty();
  }

  @Test
  void revisionsAreUniqueOnTheNode() {
    LiveEndpoint db = room.add(room.pod("demo", "db", "k8s:app=db"));
    Set<Integer> seen = new HashSet<>();
    for (int port = 1; port <= 20; port++) {
      int p = port;
      room.endpoints.run(
          () -> {
            room.enforcer.applyLocked(
                web, FakePolicySource.admitting(web.endpoint().identity(), 1, p), 2);
            room.enforcer.applyLocked(
                db, FakePolicySource.admitting(db.endpoint().identity(), 1, p), 2);
          });
      assertThat(seen.add(kernel().policyRevision())).isTrue();
      assertThat(seen.add(room.datapath.endpoints.get(db.endpoint().ifindex()).policyRevision()))
          .isTrue();
    }
    assertThat(room.datapath.lastRevision).isEqualTo(java.util.Collections.max(seen));
  }

  @Test
  void revisionsContinueAfterARestart() {
    room.datapath.lastRevision = 41;
    Revisions r = new Revisions(room.datapath);
    assertThat(r.next()).isEqualTo(42);
    r.observe(100);
    assertThat(r.next()).isEqualTo(101);
    r.observe(50);
    assertThat(r.next()).isEqualTo(102);
    assertThat(room.datapath.lastRevision).isEqualTo(102);
  }
}
