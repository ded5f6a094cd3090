package io.porin.relay.merge;

import com.google.protobuf.Timestamp;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * Merging the nodes' answers in time order: whole answers ({@link #merge}) for a request that does
 * not follow, and a sort window ({@link Window}) for live streams — a flow is released once no
 * older flow can still arrive from a slower node within the window, or when the window is full.
 */
public final class TimeOrder {
  private TimeOrder() {}

  public static final Comparator<GetFlowsResponse> BY_TIME =
      Comparator.comparing(GetFlowsResponse::getTime, TimeOrder::compare)
          .thenComparing(GetFlowsResponse::getNodeName);

  public static int compare(Timestamp a, Timestamp b) {
    int c = Long.compare(a.getSeconds(), b.getSeconds());
    return c != 0 ? c : Integer.compare(a.getNanos(), b.getNanos());
  }

  /**
   * The nodes' answers in one time order; of the flows, only the last (or, with {@code first}, the
   * first) {@code number} across all nodes when number is set. Lost events and node status events
   * are kept, in their time order.
   */
  public static List<GetFlowsResponse> merge(
      List<List<GetFlowsResponse>> perNode, long number, boolean first) {
    List<GetFlowsResponse> all = new ArrayList<>();
    perNode.forEach(all::addAll);
    all.sort(BY_TIME);
    if (number <= 0) {
      return all;
    }
    long flows = all.stream().filter(GetFlowsResponse::hasFlow).count();
    long skip = first ? 0 : Math.max(0, flows - number);
    List<GetFlowsResponse> out = new ArrayList<>();
    long seen = 0;
    for (GetFlowsResponse r : all) {
      if (!r.hasFlow()) {
        out.add(r);
        continue;
      }
      if (seen >= skip && seen < skip + number) {
        out.add(r);
      }
      seen++;
    }
    return out;
  }

  /** The live sort window. Thread-safe; {@link #release} is called periodically. */
  public static final class Window {
    private final PriorityQueue<Entry> queue = new PriorityQueue<>();
    private final long windowNanos;
    private final int maxSize;
    private long arrivals;

    private record Entry(GetFlowsResponse response, long arrivedNanos, long order)
        implements Comparable<Entry> {
      @Override
      public int compareTo(Entry o) {
        int c = BY_TIME.compare(response, o.response);
        return c != 0 ? c : Long.compare(order, o.order);
      }
    }

    public Window(long windowNanos, int maxSize) {
      this.windowNanos = windowNanos;
      this.maxSize = maxSize;
    }

    public synchronized void add(GetFlowsResponse r, long nowNanos) {
      queue.add(new Entry(r, nowNanos, arrivals++));
    }

    /**
     * Releases, oldest first, every response that has waited the whole window (no node can still
     * send an older one in time), and the oldest ones while the window holds more than its size.
     */
    public synchronized void release(long nowNanos, Consumer<GetFlowsResponse> out) {
      while (!queue.isEmpty()) {
        Entry head = queue.peek();
        if (nowNanos - head.arrivedNanos() >= windowNanos || queue.size() > maxSize) {
          out.accept(queue.poll().response());
        } else {
          return;
        }
      }
    }

    public synchronized int size() {
      return queue.size();
    }
  }
}
