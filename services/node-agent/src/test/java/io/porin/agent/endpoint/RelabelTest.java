package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.testing.FakePolicySource;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Keys;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running pod whose labels (or whose namespace's labels) change moves to the identity of its new
 * labels: kernel, ipcache and publication follow, the old identity is released.
 */
class RelabelTest {
  @TempDir Path state;
  private Room room;
  private LabelFollower follower;

  @BeforeEach
  void room() {
    room = new Room(state);
    follower = new LabelFollower(room.endpoints, room.labels, room.lifecycle);
  }

  @Test
  void aRelabelledPodMovesToItsNewIdentityOnceThatIdentitysPolicyIsKnown() {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    Endpoint e = web.endpoint();
    int old = e.identity();
    room.policies.policies.put(old, FakePolicySource.admitting(old, 1, 80));
    room.lifecycle.policySynced(2, Set.of(old));
    int revision = room.datapath.endpoints.get(e.ifindex()).policyRevision();

    room.labels.pod("demo", "web", "k8s:app=web", "k8s:tier=frontend");
    follower.reconcile("demo", "web");
    int next = room.identityOf("demo", "web");
    assertThat(next).isNotEqualTo(old);
    assertThat(web.endpoint().identity()).isEqualTo(next);
    assertThat(web.endpoint().labels()).contains("k8s:tier=frontend");
    assertThat(room.policies.subscribed).containsExactly(next);
    // its new identity's policy is not known yet: it keeps enforcing (and being announced as) the
    // old one, and says so
    assertThat(web.state()).isInstanceOf(EndpointState.WaitingForPolicy.class);
    assertThat(web.state().detail()).contains("relabelled");
    EndpointConfig kernel = room.datapath.endpoints.get(e.ifindex());
    assertThat(kernel.identity()).isEqualTo(old);
    assertThat(room.ipcache.entries).containsEntry(Cidr.parse(e.ipv4() + "/32"), old);

    // the stream delivers it: kernel, ipcache and publication switch together
    room.policies.policies.put(next, FakePolicySource.admitting(next, 1, 8080));
    room.lifecycle.policySynced(3, Set.of(next));
    kernel = room.datapath.endpoints.get(e.ifindex());
    assertThat(kernel.identity()).isEqualTo(next);
    assertThat(kernel.policyRevision()).isNotEqualTo(revision);
    assertThat(web.state()).isEqualTo(EndpointState.READY);
    assertThat(room.ipcache.entries).containsEntry(Cidr.parse(e.ipv4() + "/32"), next);
    assertThat(room.publication.keys.get(Keys.Endpoints.endpoint(Room.NODE, e.ipv4())))
        .contains("\"identity\":" + next);
    assertThat(room.identities.referenced(old)).isFalse();
    assertThat(room.identities.referenced(next)).isTrue();
    // and the saved endpoint knows it (a restart restores the new identity)
    assertThat(state.resolve("endpoints/" + e.id() + ".json")).content().contains("tier=frontend");
  }

  @Test
  void aPodWhoseNewIdentityIsKnownSwitchesAtOnce() {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    LiveEndpoint api = room.add(room.pod("demo", "api", "k8s:app=api"));
    int apiIdentity = api.endpoint().identity();
    room.policies.policies.put(apiIdentity, FakePolicySource.admitting(apiIdentity, 1, 3000));
    room.labels.pod("demo", "web", "k8s:app=api");
    follower.reconcile("demo", "web");
    assertThat(web.endpoint().identity()).isEqualTo(apiIdentity);
    assertThat(web.state()).isEqualTo(EndpointState.READY);
    assertThat(room.datapath.endpoints.get(web.endpoint().ifindex()).identity())
        .isEqualTo(apiIdentity);
  }

  @Test
  void aNamespaceRelabelMovesEveryPodOfTheNamespace() {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    LiveEndpoint db = room.add(room.pod("demo", "db", "k8s:app=db"));
    LiveEndpoint other = room.add(room.pod("other", "x", "k8s:app=web"));
    int before = other.endpoint().identity();
    room.labels.namespace("demo", "k8s:io.cilium.k8s.namespace.labels.team=blue");
    follower.reconcile("demo", "");
    assertThat(web.endpoint().labels()).contains("k8s:io.cilium.k8s.namespace.labels.team=blue");
    assertThat(db.endpoint().labels()).contains("k8s:io.cilium.k8s.namespace.labels.team=blue");
    assertThat(other.endpoint().identity()).isEqualTo(before);
  }

  @Test
  void aPodNoLongerInTheStoreKeepsItsLabels() {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    int identity = web.endpoint().identity();
    room.labels.removePod("demo", "web");
    follower.reconcile("", "");
    assertThat(web.endpoint().identity()).isEqualTo(identity);
  }

  @Test
  void theWatchTriggersReconciliation() throws Exception {
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    follower.start();
    try {
      room.labels.pod("demo", "web", "k8s:app=web", "k8s:v=2");
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (!web.endpoint().labels().contains("k8s:v=2") && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(web.endpoint().labels()).contains("k8s:v=2");
    } finally {
      follower.close();
    }
  }
}
