package io.porin.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.LostEventSource;
import io.porin.api.hubble.flow.Verdict;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlowSelectionTest {
  final FlowFixtures fx = new FlowFixtures();

  /** A ring of capacity 4 fed 6 flows a second apart: allowed, denied, allowed, denied, ... */
  FlowRing ring() {
    FlowRing r = new FlowRing(4);
    List<Flow> all = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      long t = i * 1_000_000_000L;
      all.add(fx.builder.build(i % 2 == 0 ? fx.allowed(t) : fx.defaultDenied(t), i));
    }
    r.addAll(all);
    return r;
  }

  static List<Long> seqs(List<GetFlowsResponse> rs) {
    return rs.stream()
        .filter(GetFlowsResponse::hasFlow)
        .map(r -> Long.parseLong(r.getFlow().getUuid().substring(24), 16))
        .toList();
  }

  List<GetFlowsResponse> history(GetFlowsRequest req) {
    FlowRing r = ring();
    return new FlowSelection(
            req, new FlowFilters(req.getWhitelistList(), req.getBlacklistList()), "node-1")
        .history(r.snapshot(), r.seen());
  }

  Timestamp at(int second) {
    return fx.builder.build(fx.allowed(second * 1_000_000_000L), 0).getTime();
  }

  @Test
  void theRingKeepsTheLastFlowsAndCountsWhatItSaw() {
    FlowRing r = ring();
    assertThat(r.size()).isEqualTo(4);
    assertThat(r.seen()).isEqualTo(6);
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setNumber(2).build())))
        .containsExactly(4L, 5L);
  }

  @Test
  void lastFirstAndFilters() {
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setNumber(2).setFirst(true).build())))
        .containsExactly(2L, 3L);
    assertThat(
            seqs(
                history(
                    GetFlowsRequest.newBuilder()
                        .setNumber(1)
                        .addWhitelist(FlowFilter.newBuilder().addVerdict(Verdict.DROPPED))
                        .build())))
        .containsExactly(5L);
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setSince(at(3)).setUntil(at(4)).build())))
        .containsExactly(3L, 4L);
  }

  /** Hubble's choice of flows with a time bound and a number (local_observer.go). */
  @Test
  void sinceWithANumberIsTheFirstNAndUntilWithANumberTheLastNOfTheRingCutAtUntil() {
    // ring: flows 2, 3, 4, 5 at seconds 2..5
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setSince(at(3)).setNumber(2).build())))
        .as("since + number: the first 2 at or after since")
        .containsExactly(3L, 4L);
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setUntil(at(4)).setNumber(2).build())))
        .as("until + number: the last 2 of the ring (4, 5), then those at or before until")
        .containsExactly(4L);
    assertThat(seqs(history(GetFlowsRequest.newBuilder().setUntil(at(5)).setNumber(2).build())))
        .containsExactly(4L, 5L);
    assertThat(
            seqs(
                history(
                    GetFlowsRequest.newBuilder()
                        .setUntil(at(4))
                        .setNumber(2)
                        .setFirst(true)
                        .build())))
        .as("until + number + first: the first 2 at or before until")
        .containsExactly(2L, 3L);
    assertThat(
            seqs(
                history(
                    GetFlowsRequest.newBuilder()
                        .setSince(at(2))
                        .setUntil(at(5))
                        .setNumber(2)
                        .build())))
        .as("since and until: since rules, the first 2 in the range")
        .containsExactly(2L, 3L);
  }

  @Test
  void firstWithFollowIsRefusedAsHubbleRefusesIt() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                FlowSelection.validate(
                    GetFlowsRequest.newBuilder().setFirst(true).setFollow(true).build()))
        .hasMessage("first cannot be specified with follow");
    FlowSelection.validate(GetFlowsRequest.newBuilder().setFirst(true).setNumber(3).build());
    FlowSelection.validate(GetFlowsRequest.newBuilder().setFollow(true).setNumber(3).build());
  }

  @Test
  void readingBackPastTheRingReportsTheOverwrittenFlowsAsLost() {
    List<GetFlowsResponse> all = history(GetFlowsRequest.getDefaultInstance());
    assertThat(all.getFirst().hasLostEvents()).isTrue();
    assertThat(all.getFirst().getLostEvents().getSource())
        .isEqualTo(LostEventSource.HUBBLE_RING_BUFFER);
    assertThat(all.getFirst().getLostEvents().getNumEventsLost()).isEqualTo(2);
    assertThat(seqs(all)).containsExactly(2L, 3L, 4L, 5L);
    // the last 2 are all there: nothing to report
    assertThat(history(GetFlowsRequest.newBuilder().setNumber(2).build()))
        .noneMatch(GetFlowsResponse::hasLostEvents);
    // since before the oldest flow kept
    assertThat(
            history(GetFlowsRequest.newBuilder().setSince(at(0)).build())
                .getFirst()
                .hasLostEvents())
        .isTrue();
  }

  @Test
  void followingSendsHistoryFirstThenLiveFlowsAndCountsWhatASlowReaderMissed() {
    FlowRing r = ring();
    GetFlowsRequest req = GetFlowsRequest.newBuilder().setFollow(true).setNumber(1).build();
    FlowSelection sel = new FlowSelection(req, new FlowFilters(List.of(), List.of()), "node-1");
    List<GetFlowsResponse> got = new ArrayList<>();
    long[] credit = {Long.MAX_VALUE};
    FlowSelection.Live live = sel.live(got::add, () -> credit[0], () -> {}, Runnable::run);
    List<Flow> history = r.follow(live::offer);
    r.addAll(List.of(fx.builder.build(fx.allowed(10_000_000_000L), 6))); // arrives before start
    got.addAll(sel.history(history, 6));
    live.start();
    assertThat(seqs(got)).containsExactly(5L, 6L);
    // a reader that asks for nothing more: flows wait, beyond the buffer they are counted
    credit[0] = 0;
    List<Flow> burst = new ArrayList<>();
    for (int i = 0; i < FlowSelection.LIVE_BUFFER + 5; i++) {
      burst.add(fx.builder.build(fx.allowed(11_000_000_000L), 7 + i));
    }
    r.addAll(burst);
    assertThat(seqs(got)).hasSize(2);
    credit[0] = Long.MAX_VALUE;
    live.pump();
    assertThat(got.get(2).hasLostEvents()).isTrue();
    assertThat(got.get(2).getLostEvents().getNumEventsLost()).isEqualTo(5);
    assertThat(seqs(got)).hasSize(2 + FlowSelection.LIVE_BUFFER);
  }

  @Test
  void followingEndsAtUntil() {
    FlowRing r = new FlowRing(8);
    GetFlowsRequest req = GetFlowsRequest.newBuilder().setFollow(true).setUntil(at(2)).build();
    FlowSelection sel = new FlowSelection(req, new FlowFilters(List.of(), List.of()), "node-1");
    List<GetFlowsResponse> got = new ArrayList<>();
    boolean[] completed = {false};
    FlowSelection.Live live =
        sel.live(got::add, () -> Long.MAX_VALUE, () -> completed[0] = true, Runnable::run);
    r.follow(live::offer);
    live.start();
    r.addAll(List.of(fx.builder.build(fx.allowed(1_000_000_000L), 1)));
    assertThat(completed[0]).isFalse();
    r.addAll(List.of(fx.builder.build(fx.allowed(3_000_000_000L), 2)));
    assertThat(completed[0]).isTrue();
    assertThat(seqs(got)).containsExactly(1L);
  }
}
