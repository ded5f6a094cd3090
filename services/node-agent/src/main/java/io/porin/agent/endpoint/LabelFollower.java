package io.porin.agent.endpoint;

import io.porin.agent.control.PodLabels;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.Logger;

/**
 * Moves running pods to the identity of their current labels: when a pod's labels or its
 * namespace's change (in the standalone store or the Kubernetes API), and on every resync, each
 * affected endpoint's labels are derived again and, when they differ, the endpoint is relabelled. A
 * pod that is no longer found keeps its labels (it is on its way out).
 */
public final class LabelFollower implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LabelFollower.class);

  private final Endpoints endpoints;
  private final PodLabels labels;
  private final EndpointLifecycle lifecycle;
  private final ExecutorService executor =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("porin-labels").daemon().unstarted(r));
  private AutoCloseable watch;

  public LabelFollower(Endpoints endpoints, PodLabels labels, EndpointLifecycle lifecycle) {
    this.endpoints = endpoints;
    this.labels = labels;
    this.lifecycle = lifecycle;
  }

  public void start() {
    watch = labels.watch((ns, pod) -> executor.execute(() -> reconcile(ns, pod)));
  }

  /** Derives the labels of every endpoint again (a periodic resync). */
  public void resync() {
    executor.execute(() -> reconcile("", ""));
  }

  /**
   * Relabels the endpoints a change may concern: one pod, a namespace's pods, or (namespace empty)
   * all.
   */
  public void reconcile(String namespace, String pod) {
    for (LiveEndpoint live : endpoints.list()) {
      Endpoint e = live.endpoint();
      boolean concerned =
          namespace.isEmpty()
              || (namespace.equals(e.namespace()) && (pod.isEmpty() || pod.equals(e.pod())));
      if (!concerned) {
        continue;
      }
      try {
        PodLabels.Found found = labels.labels(e.namespace(), e.pod());
        if (!found.podFound() && e.pod() != null && !e.pod().isEmpty()) {
          continue;
        }
        if (!found.labels().strings().equals(e.labels())) {
          lifecycle.relabel(e.id(), found.labels());
        }
      } catch (RuntimeException ex) {
        LOG.warnf(
            "endpoint %d (%s): following its labels: %s", e.id(), e.displayName(), ex.getMessage());
      }
    }
  }

  @Override
  public void close() {
    if (watch != null) {
      try {
        watch.close();
      } catch (Exception e) {
        LOG.debugf(e, "closing the label watch");
      }
    }
    executor.shutdownNow();
  }
}
