package io.porin.agent.flow;

import io.porin.api.hubble.flow.Flow;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The agent's last N flows (Hubble's ring: 4,095 by default), and the followers that get every new
 * flow as it is added. One writer (the event drain) adds batches; readers copy what they need under
 * the lock. Followers must only enqueue: one that cannot keep up is told how many flows it missed
 * instead of slowing the writer (the Observer service does that).
 */
public final class FlowRing {
  private final Flow[] slots;
  private long written;
  private final List<Consumer<List<Flow>>> followers = new CopyOnWriteArrayList<>();

  public FlowRing(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("flow ring capacity: " + capacity + " is not positive");
    }
    slots = new Flow[capacity];
  }

  public int capacity() {
    return slots.length;
  }

  /** Flows in the ring now. */
  public synchronized int size() {
    return (int) Math.min(written, slots.length);
  }

  /** Flows ever added (including those overwritten since). */
  public synchronized long seen() {
    return written;
  }

  /** Adds a batch (oldest first) and hands it to every follower. */
  public void addAll(List<Flow> batch) {
    if (batch.isEmpty()) {
      return;
    }
    synchronized (this) {
      for (Flow f : batch) {
        slots[(int) (written++ % slots.length)] = f;
      }
      // Under the lock, so that a follower registering now sees each flow exactly once;
      // followers only enqueue.
      for (Consumer<List<Flow>> c : followers) {
        c.accept(batch);
      }
    }
  }

  /** What is in the ring, oldest first. */
  public synchronized List<Flow> snapshot() {
    int n = size();
    List<Flow> out = new ArrayList<>(n);
    for (long i = written - n; i < written; i++) {
      out.add(slots[(int) (i % slots.length)]);
    }
    return out;
  }

  /**
   * Registers a follower, atomically with a snapshot, so that no flow falls between the two.
   *
   * @return the snapshot at registration
   */
  public synchronized List<Flow> follow(Consumer<List<Flow>> follower) {
    followers.add(follower);
    return snapshot();
  }

  public void unfollow(Consumer<List<Flow>> follower) {
    followers.remove(follower);
  }

  public int followers() {
    return followers.size();
  }
}
