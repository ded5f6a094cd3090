package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** References to identities survive an identity service that comes and goes. */
class IdentityReferencesTest {
  @TempDir Path state;

  @Test
  void releasesWaitForTheServiceAndReferencesAreRetakenAfterALostLease() {
    Room room = new Room(state);
    PodRequest web = room.pod("demo", "web", "k8s:app=web");
    LiveEndpoint live = room.add(web);
    int identity = live.endpoint().identity();
    room.identities.down = true;
    room.lifecycle.del(web);
    assertThat(room.parts.identities().pending()).containsExactly(identity);
    room.parts.identities().keepAlive(); // still down: nothing happens
    assertThat(room.parts.identities().pending()).containsExactly(identity);
    room.identities.down = false;
    room.parts.identities().keepAlive();
    assertThat(room.parts.identities().pending()).isEmpty();
    assertThat(room.identities.referenced(identity)).isFalse();

    // a lost lease: every endpoint's reference is taken again
    LiveEndpoint db = room.add(room.pod("demo", "db", "k8s:app=db"));
    room.identities.references.clear();
    room.identities.ttl = 0;
    room.parts.identities().keepAlive();
    room.identities.ttl = 30;
    room.parts.identities().keepAlive();
    assertThat(room.identities.referenced(db.endpoint().identity())).isTrue();
  }
}
