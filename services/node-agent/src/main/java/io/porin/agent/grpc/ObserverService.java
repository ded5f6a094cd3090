package io.porin.agent.grpc;

import io.grpc.Status;
import io.porin.agent.Agent;
import io.porin.agent.flow.FlowFilters;
import io.porin.agent.flow.FlowPipeline;
import io.porin.agent.flow.FlowSelection;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.api.hubble.observer.GetNodesRequest;
import io.porin.api.hubble.observer.GetNodesResponse;
import io.porin.api.hubble.observer.Node;
import io.porin.api.hubble.observer.Observer;
import io.porin.api.hubble.observer.ServerStatusRequest;
import io.porin.api.hubble.observer.ServerStatusResponse;
import io.porin.api.hubble.relay.NodeState;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.List;
import java.util.function.Consumer;

/**
 * Hubble's {@code observer.Observer} on every agent (the agent's gRPC port): this node's flows,
 * from its ring and then live. Translates and delegates to {@link FlowSelection}.
 */
@GrpcService
public class ObserverService implements Observer {
  static final String VERSION = "porin 0.1.0 (hubble observer API)";

  @Inject Agent agent;

  private FlowPipeline pipeline() {
    FlowPipeline p = agent.flows();
    if (p == null) {
      throw Status.UNAVAILABLE.withDescription("the agent is starting").asRuntimeException();
    }
    return p;
  }

  @Override
  public Multi<GetFlowsResponse> getFlows(GetFlowsRequest request) {
    FlowPipeline p;
    FlowFilters filters;
    try {
      FlowSelection.validate(request);
      p = pipeline();
      filters = new FlowFilters(request.getWhitelistList(), request.getBlacklistList());
    } catch (IllegalArgumentException e) {
      return Multi.createFrom()
          .failure(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    } catch (RuntimeException e) {
      return Multi.createFrom().failure(e);
    }
    FlowSelection sel = new FlowSelection(request, filters, agent.node());
    if (!request.getFollow()) {
      return Multi.createFrom().iterable(sel.history(p.ring().snapshot(), p.ring().seen()));
    }
    return Multi.createFrom()
        .emitter(
            em -> {
              FlowSelection.Live live = sel.live(em::emit, em::requested, em::complete);
              Consumer<List<Flow>> follower = live::offer;
              List<Flow> history = p.ring().follow(follower);
              em.onTermination(() -> p.ring().unfollow(follower));
              em.onRequest(n -> live.pump());
              for (GetFlowsResponse r : sel.history(history, p.ring().seen())) {
                em.emit(r);
              }
              live.start();
            });
  }

  @Override
  public Uni<GetNodesResponse> getNodes(GetNodesRequest request) {
    FlowPipeline p = pipeline();
    return Uni.createFrom()
        .item(
            GetNodesResponse.newBuilder()
                .addNodes(
                    Node.newBuilder()
                        .setName(agent.node())
                        .setVersion(VERSION)
                        .setState(NodeState.NODE_CONNECTED)
                        .setUptimeNs(p.uptimeNanos())
                        .setNumFlows(p.ring().size())
                        .setMaxFlows(p.ring().capacity())
                        .setSeenFlows(p.ring().seen()))
                .build());
  }

  @Override
  public Uni<ServerStatusResponse> serverStatus(ServerStatusRequest request) {
    FlowPipeline p = pipeline();
    return Uni.createFrom()
        .item(
            ServerStatusResponse.newBuilder()
                .setNumFlows(p.ring().size())
                .setMaxFlows(p.ring().capacity())
                .setSeenFlows(p.ring().seen())
                .setUptimeNs(p.uptimeNanos())
                .setVersion(VERSION)
                .setFlowsRate(p.rate())
                .build());
  }
}
