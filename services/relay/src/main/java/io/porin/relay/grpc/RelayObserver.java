package io.porin.relay.grpc;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import io.porin.api.hubble.observer.GetNodesRequest;
import io.porin.api.hubble.observer.GetNodesResponse;
import io.porin.api.hubble.observer.Node;
import io.porin.api.hubble.observer.Observer;
import io.porin.api.hubble.observer.ObserverGrpc;
import io.porin.api.hubble.observer.ServerStatusRequest;
import io.porin.api.hubble.observer.ServerStatusResponse;
import io.porin.api.hubble.relay.NodeState;
import io.porin.api.hubble.relay.NodeStatusEvent;
import io.porin.relay.config.RelayConfig;
import io.porin.relay.merge.TimeOrder;
import io.porin.relay.peers.Peers;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Hubble Relay's {@code observer.Observer}: the same request to every node's agent, the answers
 * merged in time order. Nodes that cannot be reached are named in a node status event, and the
 * others still answer.
 */
@GrpcService
public class RelayObserver implements Observer {
  static final String VERSION = "porin 0.1.0 (relay)";

  @Inject Peers peers;
  @Inject RelayConfig config;

  private static final ScheduledExecutorService TICKS =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-relay-window").daemon().unstarted(r));

  private ObserverGrpc.ObserverBlockingStub blocking(Peers.Peer p) {
    return ObserverGrpc.newBlockingStub(peers.channel(p))
        .withDeadlineAfter(config.relay().nodeTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  static GetFlowsResponse status(NodeState state, List<String> nodes, String message) {
    long now = System.currentTimeMillis();
    return GetFlowsResponse.newBuilder()
        .setNodeStatus(
            NodeStatusEvent.newBuilder()
                .setStateChange(state)
                .addAllNodeNames(nodes)
                .setMessage(message))
        .setTime(
            Timestamp.newBuilder().setSeconds(now / 1000).setNanos((int) (now % 1000) * 1_000_000))
        .build();
  }

  /**
   * A request's whole answer from every node's: the node status first (as hubble-relay sends it),
   * then the flows in time order, the first N with {@code first} or {@code since} (as each node
   * chose them), else the last N.
   */
  static List<GetFlowsResponse> answer(
      GetFlowsResponse connected, List<List<GetFlowsResponse>> perNode, GetFlowsRequest request) {
    List<GetFlowsResponse> out = new ArrayList<>();
    out.add(connected);
    out.addAll(
        TimeOrder.merge(perNode, request.getNumber(), request.getFirst() || request.hasSince()));
    return out;
  }

  @Override
  @Blocking
  public Multi<GetFlowsResponse> getFlows(GetFlowsRequest request) {
    if (request.getFirst() && request.getFollow()) {
      // as the nodes' observers (FlowSelection.validate), before asking any of them
      return Multi.createFrom()
          .failure(
              Status.INVALID_ARGUMENT
                  .withDescription("first cannot be specified with follow")
                  .asRuntimeException());
    }
    List<Peers.Peer> nodes = peers.all();
    // as hubble-relay: the nodes flows are expected from, before any flow
    GetFlowsResponse connected =
        status(NodeState.NODE_CONNECTED, nodes.stream().map(Peers.Peer::node).toList(), "");
    if (!request.getFollow()) {
      List<CompletableFuture<List<GetFlowsResponse>>> answers = new ArrayList<>();
      for (Peers.Peer p : nodes) {
        answers.add(
            CompletableFuture.supplyAsync(
                () -> {
                  List<GetFlowsResponse> out = new ArrayList<>();
                  try {
                    Iterator<GetFlowsResponse> it = blocking(p).getFlows(request);
                    it.forEachRemaining(out::add);
                  } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
                      throw e;
                    }
                    out.add(
                        status(
                            NodeState.NODE_UNAVAILABLE,
                            List.of(p.node()),
                            e.getStatus().toString()));
                  }
                  return out;
                }));
      }
      List<List<GetFlowsResponse>> perNode = new ArrayList<>();
      try {
        for (CompletableFuture<List<GetFlowsResponse>> a : answers) {
          perNode.add(a.join());
        }
      } catch (java.util.concurrent.CompletionException e) {
        return Multi.createFrom().failure(e.getCause());
      }
      List<GetFlowsResponse> merged = new ArrayList<>();
      merged.add(connected);
      merged.addAll(
          TimeOrder.merge(perNode, request.getNumber(), request.getFirst() || request.hasSince()));
      return Multi.createFrom().iterable(merged);
    }
    return Multi.createFrom()
        .emitter(
            em -> {
              TimeOrder.Window window =
                  new TimeOrder.Window(config.relay().sortWindow().toNanos(), 100_000);
              Context.CancellableContext ctx = Context.current().fork().withCancellation();
              var tick =
                  TICKS.scheduleAtFixedRate(
                      () -> window.release(System.nanoTime(), em::emit),
                      50,
                      50,
                      TimeUnit.MILLISECONDS);
              em.onTermination(
                  () -> {
                    tick.cancel(false);
                    ctx.cancel(null);
                  });
              em.emit(connected);
              List<NodeFollow> follows = new ArrayList<>();
              ctx.run(
                  () -> {
                    for (Peers.Peer p : nodes) {
                      NodeFollow f = new NodeFollow(p, request, window);
                      follows.add(f);
                      f.open(peers);
                    }
                  });
              // this relay's certificate renewed: every node's stream moves onto a new connection
              AutoCloseable renewals =
                  peers.onRenewed(() -> ctx.run(() -> follows.forEach(f -> f.move(peers))));
              em.onTermination(
                  () -> {
                    try {
                      renewals.close();
                    } catch (Exception ignored) {
                      // removing a listener does not fail
                    }
                  });
            });
  }

  /**
   * One node's part of a follow: its stream, and the time of the last flow it gave, so that the
   * stream can move to a new connection (with this relay's renewed certificate) without losing or
   * repeating flows: the new stream starts at that time and what it repeats is dropped.
   */
  static final class NodeFollow {
    private final Peers.Peer peer;
    private final GetFlowsRequest request;
    private final TimeOrder.Window window;
    private final Timestamp started;
    private Timestamp last;
    private io.grpc.stub.ClientCallStreamObserver<GetFlowsRequest> call;
    private long stream;

    NodeFollow(Peers.Peer peer, GetFlowsRequest request, TimeOrder.Window window) {
      this.peer = peer;
      this.request = request;
      this.window = window;
      long now = System.currentTimeMillis();
      this.started =
          Timestamp.newBuilder()
              .setSeconds(now / 1000)
              .setNanos((int) (now % 1000) * 1_000_000)
              .build();
    }

    synchronized void open(Peers peers) {
      ObserverGrpc.newStub(peers.channel(peer)).getFlows(request, observer(++stream));
    }

    /** Opens a stream from the last flow seen, then cancels the one open now. */
    synchronized void move(Peers peers) {
      io.grpc.stub.ClientCallStreamObserver<GetFlowsRequest> old = call;
      GetFlowsRequest resume =
          request.toBuilder()
              .clearNumber()
              .clearFirst()
              .setSince(last != null ? last : request.hasSince() ? request.getSince() : started)
              .build();
      ObserverGrpc.newStub(peers.channel(peer)).getFlows(resume, observer(++stream));
      if (old != null) {
        old.cancel("moved to a connection with the relay's renewed certificate", null);
      }
    }

    private synchronized boolean current(long which) {
      return which == stream;
    }

    /** Takes a flow unless an earlier stream already gave it. */
    private synchronized boolean fresh(GetFlowsResponse r) {
      if (!r.hasFlow()) {
        return true;
      }
      Timestamp t = r.getFlow().getTime();
      if (last != null && TimeOrder.compare(t, last) <= 0) {
        return false;
      }
      last = t;
      return true;
    }

    private io.grpc.stub.ClientResponseObserver<GetFlowsRequest, GetFlowsResponse> observer(
        long which) {
      return new io.grpc.stub.ClientResponseObserver<>() {
        @Override
        public void beforeStart(io.grpc.stub.ClientCallStreamObserver<GetFlowsRequest> c) {
          synchronized (NodeFollow.this) {
            call = c;
          }
        }

        @Override
        public void onNext(GetFlowsResponse r) {
          if (fresh(r)) {
            window.add(
                r.getNodeName().isEmpty() ? r.toBuilder().setNodeName(peer.node()).build() : r,
                System.nanoTime());
          }
        }

        @Override
        public void onError(Throwable t) {
          Status s = Status.fromThrowable(t);
          if (s.getCode() != Status.Code.CANCELLED && current(which)) {
            window.add(
                status(NodeState.NODE_UNAVAILABLE, List.of(peer.node()), s.toString()),
                System.nanoTime());
          }
        }

        @Override
        public void onCompleted() {
          if (current(which)) {
            window.add(
                status(NodeState.NODE_GONE, List.of(peer.node()), "stream ended"),
                System.nanoTime());
          }
        }
      };
    }
  }

  /** Each node's own status (its ring), or why it could not be asked. */
  private record NodeAnswer(Peers.Peer peer, ServerStatusResponse status, String error) {}

  private List<NodeAnswer> ask() {
    List<CompletableFuture<NodeAnswer>> fs = new ArrayList<>();
    for (Peers.Peer p : peers.all()) {
      fs.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return new NodeAnswer(
                      p, blocking(p).serverStatus(ServerStatusRequest.getDefaultInstance()), null);
                } catch (StatusRuntimeException e) {
                  return new NodeAnswer(p, null, e.getStatus().toString());
                }
              }));
    }
    return fs.stream().map(CompletableFuture::join).toList();
  }

  @Override
  @Blocking
  public Uni<GetNodesResponse> getNodes(GetNodesRequest request) {
    GetNodesResponse.Builder b = GetNodesResponse.newBuilder();
    for (NodeAnswer a : ask()) {
      Node.Builder n = Node.newBuilder().setName(a.peer().node()).setAddress(a.peer().address());
      if (a.status() == null) {
        n.setState(NodeState.NODE_UNAVAILABLE);
      } else {
        n.setState(NodeState.NODE_CONNECTED)
            .setVersion(a.status().getVersion())
            .setUptimeNs(a.status().getUptimeNs())
            .setNumFlows(a.status().getNumFlows())
            .setMaxFlows(a.status().getMaxFlows())
            .setSeenFlows(a.status().getSeenFlows());
      }
      b.addNodes(n);
    }
    return Uni.createFrom().item(b.build());
  }

  @Override
  @Blocking
  public Uni<ServerStatusResponse> serverStatus(ServerStatusRequest request) {
    ServerStatusResponse.Builder b = ServerStatusResponse.newBuilder().setVersion(VERSION);
    int connected = 0;
    List<String> unavailable = new ArrayList<>();
    for (NodeAnswer a : ask()) {
      if (a.status() == null) {
        unavailable.add(a.peer().node());
        continue;
      }
      connected++;
      b.setNumFlows(b.getNumFlows() + a.status().getNumFlows())
          .setMaxFlows(b.getMaxFlows() + a.status().getMaxFlows())
          .setSeenFlows(b.getSeenFlows() + a.status().getSeenFlows())
          .setFlowsRate(b.getFlowsRate() + a.status().getFlowsRate())
          .setUptimeNs(Math.max(b.getUptimeNs(), a.status().getUptimeNs()));
    }
    return Uni.createFrom()
        .item(
            b.setNumConnectedNodes(UInt32Value.of(connected))
                .setNumUnavailableNodes(UInt32Value.of(unavailable.size()))
                .addAllUnavailableNodes(unavailable)
                .build());
  }
}
