package io.porin.bench.flows;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.porin.api.agent.v1.AgentGrpc;
import io.porin.api.agent.v1.StatusRequest;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.Verdict;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.api.hubble.observer.ObserverGrpc;
import io.porin.api.hubble.observer.ServerStatusRequest;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The receiving end of the flow flood benchmark ({@code bench/flows.sh}): follows dropped flows
 * through the relay and counts them (and lost-event reports) for a time, and reads the flooded
 * node's agent (events the datapath could not queue) and the relay (flows the agents saw) before
 * and after. Runs inside the lab's control-plane namespace.
 *
 * <p>Usage: {@code FlowFlood RELAY AGENT SECONDS [nofollow]}; prints {@code key value} lines. With
 * {@code nofollow} no reader is attached (the agent's own capacity).
 */
public final class FlowFlood {
  private FlowFlood() {}

  public static void main(String[] args) throws Exception {
    String relay = args[0];
    String agent = args[1];
    long seconds = Long.parseLong(args[2]);
    ManagedChannel r = io.porin.bench.BenchTls.channel(relay, "relay").build();
    ManagedChannel a = io.porin.bench.BenchTls.channelToAgent(agent).build();
    long lostBefore =
        AgentGrpc.newBlockingStub(a).status(StatusRequest.getDefaultInstance()).getEventsLost();
    boolean follow = args.length < 4 || !args[3].equals("nofollow");
    long seenBefore =
        ObserverGrpc.newBlockingStub(a)
            .serverStatus(ServerStatusRequest.getDefaultInstance())
            .getSeenFlows();
    AtomicLong flows = new AtomicLong();
    AtomicLong lostReported = new AtomicLong();
    if (follow) {
      ObserverGrpc.newStub(r)
          .getFlows(
              GetFlowsRequest.newBuilder()
                  .setFollow(true)
                  .addWhitelist(
                      FlowFilter.newBuilder()
                          .addVerdict(Verdict.DROPPED)
                          .addDestinationPod("flood/"))
                  .build(),
              new StreamObserver<>() {
                @Override
                public void onNext(GetFlowsResponse x) {
                  if (x.hasFlow()) {
                    flows.incrementAndGet();
                  } else if (x.hasLostEvents()) {
                    lostReported.addAndGet(x.getLostEvents().getNumEventsLost());
                  }
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
    }
    System.out.println("ready");
    System.out.flush();
    Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
    long lostAfter =
        AgentGrpc.newBlockingStub(a).status(StatusRequest.getDefaultInstance()).getEventsLost();
    long seenAfter =
        ObserverGrpc.newBlockingStub(a)
            .serverStatus(ServerStatusRequest.getDefaultInstance())
            .getSeenFlows();
    System.out.println("relay_flows " + flows.get());
    System.out.println("relay_lost_reported " + lostReported.get());
    System.out.println("agent_seen " + (seenAfter - seenBefore));
    System.out.println("datapath_lost " + (lostAfter - lostBefore));
    r.shutdownNow();
    a.shutdownNow();
  }
}
