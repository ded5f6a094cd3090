package io.porin.relay.merge;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.LostEvent;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

public class TimeOrderTest {
  public static GetFlowsResponse flow(String node, long millis) {
    Timestamp t =
        Timestamp.newBuilder()
            .setSeconds(millis / 1000)
            .setNanos((int) (millis % 1000) * 1_000_000)
            .build();
    return GetFlowsResponse.newBuilder()
        .setFlow(Flow.newBuilder().setNodeName(node).setTime(t).setUuid(node + millis))
        .setNodeName(node)
        .setTime(t)
        .build();
  }

  public static List<String> ids(List<GetFlowsResponse> rs) {
    return rs.stream().map(r -> r.hasFlow() ? r.getFlow().getUuid() : "lost").toList();
  }

  @Test
  void mergesNodesInTimeOrderAndTakesTheLastOrFirstNAcrossAll() {
    List<GetFlowsResponse> a = List.of(flow("a", 1000), flow("a", 3000), flow("a", 5000));
    List<GetFlowsResponse> b = List.of(flow("b", 2000), flow("b", 4000));
    assertThat(ids(TimeOrder.merge(List.of(a, b), 0, false)))
        .containsExactly("a1000", "b2000", "a3000", "b4000", "a5000");
    assertThat(ids(TimeOrder.merge(List.of(a, b), 2, false))).containsExactly("b4000", "a5000");
    assertThat(ids(TimeOrder.merge(List.of(a, b), 2, true))).containsExactly("a1000", "b2000");
  }

  @Test
  void lostEventsAreKept() {
    GetFlowsResponse lost =
        GetFlowsResponse.newBuilder()
            .setLostEvents(LostEvent.newBuilder().setNumEventsLost(3))
            .setTime(Timestamp.newBuilder().setSeconds(0))
            .build();
    assertThat(
            ids(
                TimeOrder.merge(
                    List.of(List.of(lost, flow("a", 1000), flow("a", 2000))), 1, false)))
        .containsExactly("lost", "a2000");
  }

  @Test
  void theWindowReleasesInTimeOrderOnceEachFlowHasWaitedItsTime() {
    TimeOrder.Window w = new TimeOrder.Window(100, 1000);
    List<GetFlowsResponse> out = new ArrayList<>();
    w.add(flow("a", 3000), 0);
    w.add(flow("b", 1000), 50); // older, from a slower node, within the window
    w.release(60, out::add);
    assertThat(out).isEmpty();
    w.release(100, out::add); // b's flow waited only 50: the older one holds the head
    assertThat(ids(out)).isEmpty();
    w.release(150, out::add);
    assertThat(ids(out)).containsExactly("b1000", "a3000");
  }

  @Test
  void aFullWindowReleasesTheOldestAtOnce() {
    TimeOrder.Window w = new TimeOrder.Window(1_000_000_000L, 2);
    List<GetFlowsResponse> out = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      w.add(flow("a", i * 1000L), 0);
    }
    w.release(1, out::add);
    assertThat(ids(out)).containsExactly("a0", "a1000", "a2000");
    assertThat(w.size()).isEqualTo(2);
  }
}
