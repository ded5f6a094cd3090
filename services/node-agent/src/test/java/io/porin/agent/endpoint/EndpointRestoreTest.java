package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.testing.FakePolicySource;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A restarted agent takes its endpoints back: from its state directory and the kernel's maps. */
class EndpointRestoreTest {
  @TempDir Path state;

  @Test
  void aRestartedAgentKeepsEnforcingThePreviousRunsMapsUntilTheStreamSyncs() throws Exception {
    Room before = new Room(state);
    LiveEndpoint web = before.add(before.pod("demo", "web", "k8s:app=web"));
    int identity = web.endpoint().identity();
    before.policies.policies.put(identity, FakePolicySource.admitting(identity, 1, 80));
    before.lifecycle.policySynced(2, Set.of(identity));
    EndpointConfig kernel = before.datapath.endpoints.get(web.endpoint().ifindex());

    // a new process: same state directory, same kernel, links and services
    Room after = new Room(state);
    after.datapath.endpoints.putAll(before.datapath.endpoints);
    after.datapath.slots.putAll(before.datapath.slots);
    after.datapath.connections.putAll(before.datapath.connections);
    after.datapath.lastRevision = before.datapath.lastRevision;
    after.wiring.links.putAll(before.wiring.links);
    int restored = new EndpointRestore(after.parts, after.lifecycle, after.revisions).restore();

    assertThat(restored).isEqualTo(1);
    LiveEndpoint back = after.endpoints.list().getFirst();
    assertThat(back.state()).isInstanceOf(EndpointState.WaitingForPolicy.class);
    assertThat(back.state().detail()).contains("previous run's policy");
    assertThat(after.datapath.endpoints.get(web.endpoint().ifindex())).isEqualTo(kernel);
    assertThat(after.datapath.resets).as("its connections are kept").isEmpty();
    assertThat(after.datapath.attached).contains(web.endpoint().ifindex());
    assertThat(after.publication.keys).isNotEmpty();
    // the first sync re-derives its maps, in the other slot, with a revision after the old one
    after.policies.policies.put(identity, FakePolicySource.admitting(identity, 1, 80));
    after.lifecycle.policySynced(7, Set.of());
    EndpointConfig now = after.datapath.endpoints.get(web.endpoint().ifindex());
    assertThat(back.state()).isEqualTo(EndpointState.READY);
    assertThat(now.policySlot()).isEqualTo(kernel.policySlot() ^ 1);
    assertThat(now.policyRevision()).isGreaterThan(kernel.policyRevision());
  }

  @Test
  void anEndpointWithoutKernelStateIsLockedDownWithFreshConnections() throws Exception {
    Room before = new Room(state);
    LiveEndpoint web = before.add(before.pod("demo", "web", "k8s:app=web"));
    Room after = new Room(state);
    after.wiring.links.putAll(before.wiring.links);
    new EndpointRestore(after.parts, after.lifecycle, after.revisions).restore();
    LiveEndpoint back = after.endpoints.list().getFirst();
    assertThat(back.state().detail()).contains("without datapath state");
    assertThat(after.datapath.resets).containsKey(web.endpoint().id());
    EndpointConfig c = after.datapath.endpoints.get(web.endpoint().ifindex());
    assertThat(c.ingressDefault()).isEqualTo(io.porin.agent.bpf.MapLayouts.POLICY_DENY);
  }

  @Test
  void anEndpointWhoseInterfaceVanishedIsCleanedUp() throws Exception {
    Room before = new Room(state);
    LiveEndpoint web = before.add(before.pod("demo", "web", "k8s:app=web"));
    Room after = new Room(state);
    int restored = new EndpointRestore(after.parts, after.lifecycle, after.revisions).restore();
    assertThat(restored).isZero();
    assertThat(after.endpoints.list()).isEmpty();
    assertThat(state.resolve("endpoints")).isEmptyDirectory();
    assertThat(after.journal.entries()).contains("forgetEndpoint " + web.endpoint().id());
  }
}
