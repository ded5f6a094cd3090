package io.porin.policy.stream;

import io.porin.api.policy.v1.CidrIdentity;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.IdentityPolicy;
import io.porin.policy.compile.PolicyEngine;
import io.porin.policy.grpc.ProtoMapping;
import io.smallrye.mutiny.subscription.MultiEmitter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The nodes subscribed to policy: what each hosts, what it has been sent, what it acknowledged.
 * Snapshots and deltas are sent under one lock, so a node never misses a change between its
 * snapshot and the next delta.
 */
public final class Subscriptions implements Consumer<PolicyEngine.Published> {
  private final Object lock = new Object();
  private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
  private PolicyEngine.State current;

  /** One node's stream. */
  public static final class Subscriber {
    private final MultiEmitter<? super PolicyUpdate> emitter;
    private volatile String node = "";
    private volatile Set<Integer> identities = Set.of();
    private volatile boolean subscribed;
    private volatile long acknowledged;
    private boolean pendingSnapshot;

    Subscriber(MultiEmitter<? super PolicyUpdate> emitter) {
      this.emitter = emitter;
    }

    public String node() {
      return node;
    }

    public long acknowledged() {
      return acknowledged;
    }

    public int identityCount() {
      return identities.size();
    }
  }

  /** The result of {@link #waitFor}: whether every node got there, and where each one is. */
  public record WaitResult(boolean reached, long revision, List<Subscriber> nodes) {}

  /** A new stream; nothing is sent until the node says who it is. */
  public Subscriber open(MultiEmitter<? super PolicyUpdate> emitter) {
    Subscriber s = new Subscriber(emitter);
    subscribers.add(s);
    return s;
  }

  public void close(Subscriber s) {
    subscribers.remove(s);
  }

  /**
   * The node's (new) identity set: it receives the full current state for it. A node has one agent:
   * an older stream of the same node is ended, since the agent that opened it is gone (a killed
   * agent's stream is not always seen to close, and would hold back {@link #waitFor}).
   */
  public void subscribe(Subscriber s, String node, Set<Integer> identities) {
    synchronized (lock) {
      for (Subscriber other : subscribers) {
        if (other != s && other.node.equals(node)) {
          subscribers.remove(other);
          other.emitter.complete();
        }
      }
      s.node = node;
      s.identities = Set.copyOf(identities);
      s.subscribed = true;
      if (current != null) {
        sendSnapshot(s, current);
      } else {
        s.pendingSnapshot = true;
      }
    }
  }

  public void ack(Subscriber s, long revision) {
    s.acknowledged = Math.max(s.acknowledged, revision);
  }

  public List<Subscriber> subscribers() {
    List<Subscriber> out = new ArrayList<>();
    for (Subscriber s : subscribers) {
      if (s.subscribed) {
        out.add(s);
      }
    }
    out.sort(Comparator.comparing(Subscriber::node));
    return out;
  }

  @Override
  public void accept(PolicyEngine.Published p) {
    synchronized (lock) {
      PolicyEngine.State previous = current;
      current = p.state();
      // Each identity's delta is built once and sent to every node that hosts it.
      Map<Integer, PolicyUpdate> deltas = new java.util.HashMap<>();
      for (Subscriber s : subscribers) {
        if (!s.subscribed) {
          continue;
        }
        if (s.pendingSnapshot) {
          s.pendingSnapshot = false;
          sendSnapshot(s, current);
          continue;
        }
        if (p.changes().isEmpty()) {
          continue;
        }
        long rev = p.state().revision();
        for (Map.Entry<Integer, IdentityPolicy> e : p.changes().updated().entrySet()) {
          if (s.identities.contains(e.getKey())) {
            s.emitter.emit(
                deltas.computeIfAbsent(
                    e.getKey(), id -> delta(previous, p.changes(), id, e.getValue(), rev)));
          }
        }
        for (int id : p.changes().removed()) {
          if (s.identities.contains(id)) {
            s.emitter.emit(
                PolicyUpdate.newBuilder()
                    .setType(PolicyUpdate.Type.REMOVE)
                    .setRevision(rev)
                    .setIdentity(id)
                    .build());
          }
        }
        if (p.changes().cidrIdentitiesChanged()) {
          s.emitter.emit(cidr(current.cidrIdentities(), rev));
        }
        s.emitter.emit(synced(rev));
      }
    }
  }

  /**
   * A PATCH (only the peers whose entries changed) when the node already has the identity's policy;
   * the whole policy (UPSERT) when it is new.
   */
  private PolicyUpdate delta(
      PolicyEngine.State previous,
      io.porin.core.policy.PolicyChanges changes,
      int id,
      IdentityPolicy now,
      long rev) {
    IdentityPolicy old = previous == null ? null : previous.policies().get(id);
    PolicyUpdate.Builder b = PolicyUpdate.newBuilder().setRevision(rev).setIdentity(id);
    if (old == null) {
      return b.setType(PolicyUpdate.Type.UPSERT)
          .setPolicy(ProtoMapping.toProto(now, rev, current.identities().get(id)))
          .build();
    }
    return b.setType(PolicyUpdate.Type.PATCH)
        .setPatch(ProtoMapping.patch(old, now, changes.patchedPeers().get(id)))
        .build();
  }

  private static void sendSnapshot(Subscriber s, PolicyEngine.State state) {
    long rev = state.revision();
    for (int id : s.identities) {
      IdentityPolicy p = state.policies().get(id);
      if (p != null) {
        s.emitter.emit(
            PolicyUpdate.newBuilder()
                .setType(PolicyUpdate.Type.SNAPSHOT)
                .setRevision(rev)
                .setIdentity(id)
                .setPolicy(ProtoMapping.toProto(p, rev, state.identities().get(id)))
                .build());
      }
    }
    s.emitter.emit(cidr(state.cidrIdentities(), rev));
    s.emitter.emit(synced(rev));
  }

  private static PolicyUpdate cidr(Map<Cidr, Integer> cidrs, long rev) {
    PolicyUpdate.Builder b =
        PolicyUpdate.newBuilder().setType(PolicyUpdate.Type.CIDR_IDENTITIES).setRevision(rev);
    cidrs.forEach(
        (c, id) ->
            b.addCidrIdentities(CidrIdentity.newBuilder().setPrefix(c.toString()).setIdentity(id)));
    return b.build();
  }

  private static PolicyUpdate synced(long rev) {
    return PolicyUpdate.newBuilder().setType(PolicyUpdate.Type.SYNCED).setRevision(rev).build();
  }

  /**
   * Waits until every subscribed node has acknowledged {@code revision} (0: the current one), or
   * the timeout passes.
   */
  public WaitResult waitFor(long revision, Duration timeout, long currentRevision)
      throws InterruptedException {
    long target = revision == 0 ? currentRevision : revision;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<Subscriber> nodes = subscribers();
      boolean reached = nodes.stream().allMatch(s -> s.acknowledged >= target);
      if (reached || System.nanoTime() >= deadline) {
        return new WaitResult(reached, target, nodes);
      }
      Thread.sleep(20);
    }
  }
}
