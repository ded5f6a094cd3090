package io.porin.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Conntrack collection and pressure, per endpoint. */
class ConntrackCollectorTest {
  @TempDir Path state;

  @Test
  void expiredEntriesAreCountedAndAFillingMapRaisesOneAlarmAsItCrosses() {
    Room room = new Room(state);
    LiveEndpoint web = room.add(room.pod("demo", "web", "k8s:app=web"));
    int id = web.endpoint().id();
    ConntrackCollector c = new ConntrackCollector(room.datapath, room.endpoints, () -> 0L);
    room.datapath.conntrack.put(id, new int[] {100, 7});
    c.collect();
    assertThat(c.removed()).isEqualTo(7);
    assertThat(c.alarms()).isZero();
    assertThat(c.last().getFirst().pressure()).isEqualTo(100.0 / 512);
    room.datapath.conntrack.put(id, new int[] {480, 0});
    c.collect();
    c.collect();
    assertThat(c.alarms()).isEqualTo(1);
    room.datapath.conntrack.put(id, new int[] {10, 0});
    c.collect();
    room.datapath.conntrack.put(id, new int[] {500, 0});
    c.collect();
    assertThat(c.alarms()).isEqualTo(2);
  }
}
