package io.porin.identity.gc;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * A {@code coordination.k8s.io} Lease that makes one replica of the identity service the collector:
 * it leads while it renews the Lease; another takes over once the Lease has expired. Leading is
 * given up before the renew deadline passes, so two replicas never both collect.
 */
public final class GcLease implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(GcLease.class);
  static final Duration LEASE = Duration.ofSeconds(15);
  static final Duration RENEW_DEADLINE = Duration.ofSeconds(10);
  static final Duration RETRY = Duration.ofSeconds(2);

  private final AtomicBoolean leading = new AtomicBoolean();
  private final CompletableFuture<?> election;

  /**
   * @param lease {@code namespace/name}
   * @param holder this replica's name (its pod's)
   */
  public GcLease(KubernetesClient client, String lease, String holder) {
    this(client, lease, holder, LEASE, RENEW_DEADLINE, RETRY);
  }

  GcLease(
      KubernetesClient client,
      String lease,
      String holder,
      Duration duration,
      Duration renewDeadline,
      Duration retry) {
    int slash = lease.indexOf('/');
    if (slash <= 0 || slash == lease.length() - 1 || lease.indexOf('/', slash + 1) >= 0) {
      throw new IllegalArgumentException(
          "porin.identity.gc-lease: \"" + lease + "\" is not namespace/name");
    }
    LeaderElector elector =
        client
            .leaderElector()
            .withConfig(
                new LeaderElectionConfigBuilder()
                    .withName("identity-gc")
                    .withLock(
                        new LeaseLock(
                            lease.substring(0, slash), lease.substring(slash + 1), holder))
                    .withLeaseDuration(duration)
                    .withRenewDeadline(renewDeadline)
                    .withRetryPeriod(retry)
                    .withReleaseOnCancel(true)
                    .withLeaderCallbacks(
                        new LeaderCallbacks(
                            () -> {
                              leading.set(true);
                              LOG.infof("%s holds Lease %s: this replica collects", holder, lease);
                            },
                            () -> {
                              leading.set(false);
                              LOG.infof("%s no longer holds Lease %s", holder, lease);
                            },
                            newLeader -> LOG.debugf("Lease %s held by %s", lease, newLeader)))
                    .build())
            .build();
    election = elector.start();
  }

  /** Whether this replica holds the Lease now. */
  public boolean leading() {
    return leading.get();
  }

  @Override
  public void close() {
    leading.set(false);
    election.cancel(true);
  }
}
