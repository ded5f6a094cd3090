package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.testing.FakePolicySource;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Keys;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A pod endpoint's life on a node, against fakes of the kernel, the links and the services. */
class EndpointLifecycleTest {
  @TempDir Path state;
  private Room room;

  @BeforeEach
  void room() {
    room = new Room(state);
  }

  @Test
  void anAddedPodIsLockedDownUntilItsPolicyArrivesThenEnforcesIt() {
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    LiveEndpoint live = room.add(web);
    Endpoint e = live.endpoint();
    assertThat(live.state()).isInstanceOf(EndpointState.WaitingForPolicy.class);
    EndpointConfig c = room.datapath.endpoints.get(e.ifindex());
    assertThat(c.flags()).isEqualTo(MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS);
    assertThat(c.ingressDefault()).isEqualTo(MapLayouts.POLICY_DENY);
    assertThat(c.ipv4()).isEqualTo(e.ipv4());
    assertThat(c.ipv6()).isEqualTo(e.ipv6());
    assertThat(c.podMac()).isEqualTo(e.podMac());
    assertThat(room.datapath.attached).contains(e.ifindex());
    assertThat(room.datapath.connections).containsKey(e.id());
    assertThat(room.publication.keys).containsKey(Keys.Endpoints.endpoint(Room.NODE, e.ipv4()));
    assertThat(room.ipcache.entries).containsEntry(Cidr.parse(e.ipv4() + "/32"), e.identity());
    assertThat(room.policies.subscribed).containsExactly(e.identity());

    room.policies.policies.put(e.identity(), FakePolicySource.admitting(e.identity(), 70100, 80));
    room.lifecycle.policySynced(2, Set.of(e.identity()));
    assertThat(live.state()).isEqualTo(EndpointState.READY);
    assertThat(live.policyRevision()).isEqualTo(2);
    EndpointConfig after = room.datapath.endpoints.get(e.ifindex());
    assertThat(after.policyRevision()).isNotEqualTo(c.policyRevision());
    assertThat(after.policySlot()).isNotEqualTo(c.policySlot());
    assertThat(room.datapath.livePolicy(e.ifindex()).entries()).hasSize(1);
  }

  @Test
  void aPodWhosePolicyIsKnownEnforcesItBeforeAnyoneIsToldWhereItIs() {
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    int identity = room.identityOf("demo", "web");
    room.policies.policies.put(identity, FakePolicySource.admitting(identity, 70100, 80));
    LiveEndpoint live = room.add(web);
    assertThat(live.state()).isEqualTo(EndpointState.READY);
    // lockdown, then the policy, then the announcement
    List<String> j = room.journal.entries();
    int announced = room.journal.indexOf("putLocalAddress");
    assertThat(j.subList(0, announced).stream().filter(x -> x.startsWith("putEndpoint")))
        .as("lockdown and then the policy, before the announcement")
        .hasSize(2);
    assertThat(room.journal.indexOf("attach")).isLessThan(announced);
    assertThat(announced).isLessThan(room.journal.indexOf("publish"));
  }

  /** Every step of ADD that can fail: a failure leaves nothing behind. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "wiring.create",
        "datapath.resetConnections",
        "datapath.putEndpoint",
        "datapath.attach",
        "datapath.putLocalAddress",
        "publication.put"
      })
  void aFailedAddLeavesNothingBehind(String step) {
    String[] where = step.split("\\.");
    switch (where[0]) {
      case "wiring" -> room.wiring.failures.failOn(where[1]);
      case "datapath" -> room.datapath.failures.failOn(where[1]);
      case "publication" -> room.publication.failures.failOn(where[1]);
      default -> throw new IllegalArgumentException(step);
    }
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    int identity = room.identityOf("demo", "web");
    assertThatThrownBy(() -> room.add(web)).isInstanceOf(RuntimeException.class);

    assertThat(room.endpoints.list()).isEmpty();
    assertThat(room.wiring.links).isEmpty();
    assertThat(room.identities.referenced(identity)).as("identity reference").isFalse();
    assertThat(room.datapath.endpoints).isEmpty();
    assertThat(room.datapath.connections).isEmpty();
    assertThat(room.datapath.localAddresses).isEmpty();
    assertThat(room.ipcache.entries).isEmpty();
    assertThat(room.publication.keys).isEmpty();
    assertThat(room.policies.subscribed).isEmpty();
    assertThat(state.resolve("endpoints")).isEmptyDirectory();
    // and the addresses are free again
    assertThat(state.resolve("ipam-ipv4.json")).content().doesNotContain(web.containerId());
    assertThat(state.resolve("ipam-ipv6.json")).content().doesNotContain(web.containerId());
  }

  @Test
  void delRemovesEverythingAndIsIdempotent() {
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    Endpoint e = room.add(web).endpoint();
    room.lifecycle.del(web);
    assertThat(room.endpoints.list()).isEmpty();
    assertThat(room.wiring.links).isEmpty();
    assertThat(room.datapath.endpoints).isEmpty();
    assertThat(room.datapath.connections).doesNotContainKey(e.id());
    assertThat(room.datapath.localAddresses).isEmpty();
    assertThat(room.ipcache.entries).isEmpty();
    assertThat(room.publication.keys).isEmpty();
    assertThat(room.identities.referenced(e.identity())).isFalse();
    // others stop reaching it before its hooks go
    assertThat(room.journal.indexOf("unpublish"))
        .isLessThan(room.journal.indexOf("deleteEndpoint"));
    room.lifecycle.del(web);
    assertThat(room.endpoints.list()).isEmpty();
  }

  @Test
  void aReusedEndpointIdStartsWithEmptyConnectionsAndANewRevision() {
    PodRequest a = room.pod("demo", "a", "k8s:app=a");
    Endpoint first = room.add(a).endpoint();
    int firstRevision = room.datapath.endpoints.get(first.ifindex()).policyRevision();
    room.lifecycle.del(a);
    Endpoint second = room.add(room.pod("demo", "b", "k8s:app=b")).endpoint();
    assertThat(second.id()).isEqualTo(first.id());
    assertThat(room.datapath.resets.get(second.id())).isEqualTo(2);
    assertThat(room.datapath.endpoints.get(second.ifindex()).policyRevision())
        .isGreaterThan(firstRevision);
  }

  @Test
  void aPolicyThatDoesNotFitLocksTheEndpointDown() {
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    LiveEndpoint live = room.add(web);
    int identity = live.endpoint().identity();
    room.policies.policies.put(identity, Policies.withEntries(identity, MapLayouts.POLICY_MAX + 1));
    room.lifecycle.policySynced(3, Set.of(identity));
    assertThat(live.state()).isInstanceOf(EndpointState.PolicyOverflow.class);
    assertThat(live.state().detail()).contains("needs " + (MapLayouts.POLICY_MAX + 1));
    assertThat(room.enforcer.overflows()).isEqualTo(1);
    EndpointConfig c = room.datapath.endpoints.get(live.endpoint().ifindex());
    assertThat(c.ingressDefault()).isEqualTo(MapLayouts.POLICY_DENY);
    assertThat(c.egressDefault()).isEqualTo(MapLayouts.POLICY_DENY);
    assertThat(room.datapath.livePolicy(live.endpoint().ifindex()).entries()).isEmpty();
  }

  @Test
  void onlyEndpointsWhoseIdentityChangedAreRewritten() {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    LiveEndpoint db = room.add(room.pod("demo", "db", "k8s:app=db"));
    int w = web.endpoint().identity();
    int d = db.endpoint().identity();
    room.policies.policies.put(w, FakePolicySource.admitting(w, 1, 80));
    room.policies.policies.put(d, FakePolicySource.admitting(d, 1, 5432));
    room.lifecycle.policySynced(2, Set.of(w, d));
    int dbRevision = room.datapath.endpoints.get(db.endpoint().ifindex()).policyRevision();
    room.policies.policies.put(w, FakePolicySource.admitting(w, 1, 8080));
    room.lifecycle.policySynced(3, Set.of(w));
    assertThat(room.datapath.endpoints.get(db.endpoint().ifindex()).policyRevision())
        .isEqualTo(dbRevision);
    assertThat(db.policyRevision()).isEqualTo(3);
    // the same policy again: nothing is written
    int writes = room.journal.entries().size();
    room.lifecycle.policySynced(4, Set.of(w));
    assertThat(room.journal.entries()).hasSize(writes);
  }
}
