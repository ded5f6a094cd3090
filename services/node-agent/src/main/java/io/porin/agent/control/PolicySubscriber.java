package io.porin.agent.control;

import io.grpc.stub.StreamObserver;
import io.porin.agent.policy.ProtoPolicies;
import io.porin.api.policy.v1.Ack;
import io.porin.api.policy.v1.CidrIdentity;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.api.policy.v1.SubscribeRequest;
import io.porin.api.policy.v1.Subscription;
import io.porin.core.ipam.Cidr;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The node's policy stream: subscribes for the identities this node hosts, keeps each one's policy
 * (applying PATCHes), and at every SYNCED hands the changed identities to the listener, then
 * acknowledges the revision. When the stream breaks it reconnects with backoff (1 s doubling to 2
 * s, and the channel's own connection backoff reset each time, so that it is back within a few
 * seconds of the service returning) and resubscribes, which brings a full snapshot; meanwhile the
 * datapath keeps enforcing what it has.
 *
 * <p>When this agent's certificate is renewed the stream moves: a new subscription opens on a new
 * connection (made with the renewed certificate) and the old one is cancelled, before the policy
 * service would end it for the old certificate's expiry. The new subscription's snapshot replaces
 * what the node had, so nothing is missed in between.
 */
public final class PolicySubscriber implements PolicySource, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PolicySubscriber.class);

  /** Receives each synced revision: the changed identities and the CIDR identities. */
  public interface Listener {
    void synced(long revision, Set<Integer> changed, Map<Cidr, Integer> cidrIdentities);
  }

  private final ControlPlane control;
  private final String node;
  private final Listener listener;
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-policy-stream").daemon().unstarted(r));
  private final Map<Integer, IdentityPolicy> policies = new ConcurrentHashMap<>();
  private volatile Set<Integer> identities = Set.of();
  private volatile long revision;
  private volatile String problem = "not connected yet";
  private StreamObserver<SubscribeRequest> requests;
  // which stream is current: answers of a stream that was moved or broken are ignored
  private long stream;
  private AutoCloseable renewals = () -> {};
  private long backoffMillis = 1000;

  /** The longest wait between attempts: back within a few seconds of the service returning. */
  static final long MAX_BACKOFF_MILLIS = 2000;

  private boolean closed;
  // what arrived since the last SYNCED
  private Map<Integer, IdentityPolicy> snapshot;
  private final Set<Integer> changed = new HashSet<>();
  private Map<Cidr, Integer> cidrIdentities = Map.of();

  public PolicySubscriber(ControlPlane control, String node, Listener listener) {
    this.control = control;
    this.node = node;
    this.listener = listener;
  }

  public void start(Set<Integer> hosted) {
    identities = Set.copyOf(hosted);
    renewals = control.onRenewed(() -> executor.execute(this::move));
    executor.execute(this::connect);
  }

  /** Opens a new subscription (on a new connection) and cancels the one open now. */
  private void move() {
    if (closed || requests == null) {
      return; // not connected: the next attempt uses the renewed certificate anyway
    }
    StreamObserver<SubscribeRequest> old = requests;
    connect();
    if (old instanceof io.grpc.stub.ClientCallStreamObserver<SubscribeRequest> c) {
      c.cancel("moved to a connection with the renewed certificate", null);
    }
    LOG.infof("moved the policy stream to a new connection with this node's renewed certificate");
  }

  /** The identities this node hosts changed: resubscribe on the open stream. */
  @Override
  public void setIdentities(Set<Integer> hosted) {
    Set<Integer> copy = Set.copyOf(hosted);
    executor.execute(
        () -> {
          if (copy.equals(identities)) {
            return;
          }
          identities = copy;
          policies.keySet().retainAll(copy);
          send(subscription());
        });
  }

  @Override
  public Optional<io.porin.core.policy.IdentityPolicy> policy(int identity) {
    return Optional.ofNullable(policies.get(identity)).map(ProtoPolicies::toCore);
  }

  @Override
  public long revision() {
    return revision;
  }

  /** Empty when the stream is up and synced; else why not. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  private SubscribeRequest subscription() {
    return SubscribeRequest.newBuilder()
        .setSubscription(Subscription.newBuilder().setNode(node).addAllIdentities(identities))
        .build();
  }

  private void connect() {
    if (closed) {
      return;
    }
    snapshot = new HashMap<>(); // the first SYNCED ends the snapshot, even an empty one
    changed.clear();
    long mine = ++stream;
    requests =
        control
            .policies()
            .subscribe(
                new StreamObserver<>() {
                  @Override
                  public void onNext(PolicyUpdate u) {
                    executor.execute(
                        () -> {
                          if (mine == stream) {
                            handle(u);
                          }
                        });
                  }

                  @Override
                  public void onError(Throwable t) {
                    executor.execute(
                        () -> {
                          if (mine == stream) {
                            broken(t.getMessage());
                          }
                        });
                  }

                  @Override
                  public void onCompleted() {
                    executor.execute(
                        () -> {
                          if (mine == stream) {
                            broken("the policy service ended the stream");
                          }
                        });
                  }
                });
    send(subscription());
  }

  private void send(SubscribeRequest r) {
    if (requests == null) {
      return;
    }
    try {
      requests.onNext(r);
    } catch (RuntimeException e) {
      LOG.debugf(e, "sending on the policy stream");
    }
  }

  private void broken(String why) {
    if (closed) {
      return;
    }
    problem = "policy service " + control.policyTarget() + ": " + why;
    LOG.warnf("%s; retrying in %d ms", problem, backoffMillis);
    requests = null;
    stream++;
    executor.schedule(
        () -> {
          control.resetPolicyBackoff();
          connect();
        },
        backoffMillis,
        TimeUnit.MILLISECONDS);
    backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
  }

  private void handle(PolicyUpdate u) {
    try {
      switch (u.getType()) {
        case SNAPSHOT -> {
          if (snapshot == null) {
            snapshot = new HashMap<>();
          }
          snapshot.put(u.getIdentity(), u.getPolicy());
        }
        case UPSERT -> {
          policies.put(u.getIdentity(), u.getPolicy());
          changed.add(u.getIdentity());
        }
        case PATCH -> {
          IdentityPolicy old = policies.get(u.getIdentity());
          if (old == null) {
            // a patch for a policy we do not have: ask for the full state again
            send(subscription());
            return;
          }
          policies.put(u.getIdentity(), ProtoPolicies.apply(old, u.getPatch(), u.getRevision()));
          changed.add(u.getIdentity());
        }
        case REMOVE -> {
          policies.remove(u.getIdentity());
          changed.add(u.getIdentity());
        }
        case CIDR_IDENTITIES -> {
          Map<Cidr, Integer> m = new HashMap<>();
          for (CidrIdentity c : u.getCidrIdentitiesList()) {
            m.put(Cidr.parse(c.getPrefix()), c.getIdentity());
          }
          cidrIdentities = Map.copyOf(m);
        }
        case SYNCED -> synced(u.getRevision());
        default -> LOG.debugf("ignoring policy update %s", u.getType());
      }
    } catch (RuntimeException e) {
      LOG.errorf(e, "applying policy update %s of revision %d", u.getType(), u.getRevision());
    }
  }

  private void synced(long rev) {
    if (snapshot != null) {
      // a snapshot (after connecting, or after resubscribing) replaces everything this node had
      Set<Integer> all = new HashSet<>(policies.keySet());
      all.addAll(snapshot.keySet());
      policies.clear();
      policies.putAll(snapshot);
      changed.addAll(all);
      changed.addAll(identities);
    }
    snapshot = null;
    revision = rev;
    problem = null;
    backoffMillis = 1000;
    Set<Integer> batch = Set.copyOf(changed);
    changed.clear();
    try {
      listener.synced(rev, batch, cidrIdentities);
      send(SubscribeRequest.newBuilder().setAck(Ack.newBuilder().setRevision(rev)).build());
    } catch (RuntimeException e) {
      LOG.errorf(e, "enforcing policy revision %d", rev);
    }
  }

  @Override
  public void close() {
    try {
      renewals.close();
    } catch (Exception ignored) {
      // removing a listener does not fail
    }
    executor.execute(
        () -> {
          closed = true;
          if (requests != null) {
            try {
              requests.onCompleted();
            } catch (RuntimeException ignored) {
              // the stream is going away anyway
            }
          }
        });
    executor.shutdown();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
