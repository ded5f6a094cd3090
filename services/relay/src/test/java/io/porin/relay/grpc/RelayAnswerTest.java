package io.porin.relay.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.api.hubble.relay.NodeState;
import io.porin.relay.merge.TimeOrderTest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the relay answers a GetFlows that does not follow, as hubble-relay does. */
class RelayAnswerTest {
  static final List<GetFlowsResponse> A =
      List.of(TimeOrderTest.flow("a", 1000), TimeOrderTest.flow("a", 3000));
  static final List<GetFlowsResponse> B =
      List.of(TimeOrderTest.flow("b", 2000), TimeOrderTest.flow("b", 4000));

  static List<GetFlowsResponse> answer(GetFlowsRequest r) {
    return RelayObserver.answer(
        RelayObserver.status(NodeState.NODE_CONNECTED, List.of("a", "b"), ""), List.of(A, B), r);
  }

  @Test
  void theNodesItAskedComeFirstThenTheFlowsInTimeOrder() {
    List<GetFlowsResponse> all = answer(GetFlowsRequest.getDefaultInstance());
    assertThat(all.getFirst().hasNodeStatus()).isTrue();
    assertThat(all.getFirst().getNodeStatus().getStateChange()).isEqualTo(NodeState.NODE_CONNECTED);
    assertThat(all.getFirst().getNodeStatus().getNodeNamesList()).containsExactly("a", "b");
    assertThat(TimeOrderTest.ids(all.subList(1, all.size())))
        .containsExactly("a1000", "b2000", "a3000", "b4000");
  }

  @Test
  void withSinceTheNumberIsTheFirstNElseTheLastN() {
    var since =
        GetFlowsRequest.newBuilder()
            .setNumber(2)
            .setSince(com.google.protobuf.Timestamp.newBuilder().setSeconds(1))
            .build();
    assertThat(TimeOrderTest.ids(answer(since)).subList(1, 3)).containsExactly("a1000", "b2000");
    List<GetFlowsResponse> last = answer(GetFlowsRequest.newBuilder().setNumber(2).build());
    assertThat(last.getFirst().hasNodeStatus()).isTrue();
    assertThat(TimeOrderTest.ids(last.subList(1, last.size()))).containsExactly("a3000", "b4000");
  }
}
