package io.porin.agent.flow;

import com.google.protobuf.Timestamp;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.LostEvent;
import io.porin.api.hubble.flow.LostEventSource;
import io.porin.api.hubble.observer.GetFlowsRequest;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What one GetFlows request gets: from the ring, the flows its filters and time bounds select, the
 * first or last {@code number} of them; with follow, then every new one that matches. A reader that
 * does not keep up is not waited for: it gets a {@link LostEvent} saying how many it missed.
 */
public final class FlowSelection {
  /** How many flows a live reader may have waiting before the next are counted as lost. */
  static final int LIVE_BUFFER = 16_384;

  private final GetFlowsRequest request;
  private final FlowFilters filters;
  private final String node;

  public FlowSelection(GetFlowsRequest request, FlowFilters filters, String node) {
    this.request = request;
    this.filters = filters;
    this.node = node;
  }

  private boolean inTime(Flow f) {
    return (!request.hasSince() || compare(f.getTime(), request.getSince()) >= 0)
        && (!request.hasUntil() || compare(f.getTime(), request.getUntil()) <= 0);
  }

  static int compare(Timestamp a, Timestamp b) {
    int c = Long.compare(a.getSeconds(), b.getSeconds());
    return c != 0 ? c : Integer.compare(a.getNanos(), b.getNanos());
  }

  /**
   * Refuses a request Hubble's observer refuses ({@code local_observer.go} validateRequest).
   *
   * @throws IllegalArgumentException saying why
   */
  public static void validate(GetFlowsRequest request) {
    if (request.getFirst() && request.getFollow()) {
      throw new IllegalArgumentException("first cannot be specified with follow");
    }
  }

  /**
   * The ring's part of the answer, as Hubble's observer chooses it ({@code local_observer.go}):
   * {@code number} with {@code first} or with {@code since} is the first N (at or after {@code
   * since}); otherwise the last N, and with {@code until} (no {@code since}) the last N of the
   * whole ring, then those at or before {@code until}. When flows the request asks for were already
   * overwritten (the ring has seen more than it holds, and the request wants everything, or more
   * than is left, or reaches back before the oldest flow), a lost event says how many went, first.
   */
  public List<GetFlowsResponse> history(List<Flow> ring, long seen) {
    List<Flow> matching = new ArrayList<>();
    boolean wantsHistory = !request.getFollow() || request.getNumber() > 0 || request.hasSince();
    long n = request.getNumber();
    boolean head = request.getFirst() || request.hasSince();
    boolean lastThenUntil = n > 0 && !head && request.hasUntil();
    if (wantsHistory) {
      for (Flow f : ring) {
        if ((lastThenUntil || inTime(f)) && filters.test(f)) {
          matching.add(f);
        }
      }
    }
    List<Flow> chosen = matching;
    if (n > 0 && n < matching.size()) {
      chosen =
          head
              ? matching.subList(0, (int) n)
              : matching.subList(matching.size() - (int) n, matching.size());
    }
    if (lastThenUntil) {
      chosen = chosen.stream().filter(this::inTime).toList();
    }
    List<GetFlowsResponse> out = new ArrayList<>(chosen.size() + 1);
    long overwritten = seen - ring.size();
    boolean reachesBack =
        wantsHistory
            && (n == 0
                || n > matching.size()
                || head
                || (request.hasSince()
                    && !ring.isEmpty()
                    && compare(request.getSince(), ring.getFirst().getTime()) < 0));
    if (overwritten > 0 && reachesBack) {
      // Dated at the oldest flow kept: the lost ones came before it (a merge keeps them first).
      GetFlowsResponse l = lost(LostEventSource.HUBBLE_RING_BUFFER, overwritten);
      out.add(ring.isEmpty() ? l : l.toBuilder().setTime(ring.getFirst().getTime()).build());
    }
    for (Flow f : chosen) {
      out.add(response(f));
    }
    return out;
  }

  GetFlowsResponse response(Flow f) {
    return GetFlowsResponse.newBuilder()
        .setFlow(f)
        .setNodeName(f.getNodeName())
        .setTime(f.getTime())
        .build();
  }

  GetFlowsResponse lost(LostEventSource source, long count) {
    long now = System.currentTimeMillis();
    return GetFlowsResponse.newBuilder()
        .setLostEvents(LostEvent.newBuilder().setSource(source).setNumEventsLost(count))
        .setNodeName(node)
        .setTime(
            Timestamp.newBuilder().setSeconds(now / 1000).setNanos((int) (now % 1000) * 1_000_000))
        .build();
  }

  public Live live(Consumer<GetFlowsResponse> emit, LongSupplier requested, Runnable complete) {
    return new Live(emit, requested, complete, SENDERS);
  }

  /** As {@link #live(Consumer, LongSupplier, Runnable)}, sending on the given executor (tests). */
  Live live(
      Consumer<GetFlowsResponse> emit,
      LongSupplier requested,
      Runnable complete,
      java.util.concurrent.Executor sender) {
    return new Live(emit, requested, complete, sender);
  }

  /** Sends live flows to readers, so that the event drain never waits for a reader. */
  private static final java.util.concurrent.Executor SENDERS =
      java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

  /**
   * The live part: flows offered by the ring (on the drain thread, which must never wait) are only
   * queued — held until {@link #start} (the history goes first) — and sent from another thread
   * while the reader asks for more; beyond {@link #LIVE_BUFFER} waiting they are counted, and the
   * count is sent as a lost event before the next flow.
   */
  public final class Live {
    private final Consumer<GetFlowsResponse> emit;
    private final LongSupplier requested;
    private final Runnable complete;
    private final java.util.ArrayDeque<Flow> waiting = new java.util.ArrayDeque<>();
    private final java.util.concurrent.Executor sender;
    private boolean started;
    private boolean done;
    private boolean completeWhenSent;
    private boolean sending;
    private long lostCount;

    Live(
        Consumer<GetFlowsResponse> emit,
        LongSupplier requested,
        Runnable complete,
        java.util.concurrent.Executor sender) {
      this.emit = emit;
      this.requested = requested;
      this.complete = complete;
      this.sender = sender;
    }

    /** Queues what matches; never blocks (called under the ring's lock). */
    public void offer(List<Flow> batch) {
      synchronized (this) {
        if (done) {
          return;
        }
        for (Flow f : batch) {
          if (request.hasUntil() && compare(f.getTime(), request.getUntil()) > 0) {
            done = true;
            completeWhenSent = true;
            break;
          }
          if (!inTime(f) || !filters.test(f)) {
            continue;
          }
          if (waiting.size() >= LIVE_BUFFER) {
            lostCount++;
          } else {
            waiting.add(f);
          }
        }
      }
      pump();
    }

    public void start() {
      synchronized (this) {
        started = true;
      }
      pump();
    }

    /** Sends what waits (from the sender thread), as far as the reader asks. */
    public void pump() {
      synchronized (this) {
        if (!started || sending) {
          return;
        }
        sending = true;
      }
      sender.execute(this::send);
    }

    private void send() {
      while (true) {
        List<GetFlowsResponse> out = new ArrayList<>();
        boolean finish = false;
        synchronized (this) {
          long credit = requested.getAsLong();
          while (credit-- > 0 && out.size() < 1024 && (lostCount > 0 || !waiting.isEmpty())) {
            if (lostCount > 0) {
              out.add(lost(LostEventSource.HUBBLE_RING_BUFFER, lostCount));
              lostCount = 0;
            } else {
              out.add(response(waiting.poll()));
            }
          }
          if (out.isEmpty()) {
            sending = false;
            finish = completeWhenSent && waiting.isEmpty();
            completeWhenSent &= !finish;
          }
        }
        if (out.isEmpty()) {
          if (finish) {
            complete.run();
          }
          return;
        }
        out.forEach(emit);
      }
    }
  }
}
