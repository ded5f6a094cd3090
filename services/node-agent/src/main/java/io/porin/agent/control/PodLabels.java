package io.porin.agent.control;

import io.porin.core.labels.LabelSet;

/**
 * Where a pod's identity labels come from: the standalone store or the Kubernetes API. Both derive
 * them as the policy service does (core's EndpointLabels), so both arrive at the identity the
 * policy was compiled for. Both also say when labels may have changed, so that running pods move to
 * the identity of their new labels.
 */
public interface PodLabels {
  /** The labels, and whether the pod itself was found (else: only its namespace's labels). */
  record Found(LabelSet labels, boolean podFound) {}

  Found labels(String namespace, String pod);

  /** Told that labels may have changed. */
  interface Changes {
    /**
     * A pod's labels ({@code pod} non-empty), a namespace's ({@code pod} empty), or anything
     * ({@code namespace} empty: a resync) may have changed.
     */
    void changed(String namespace, String pod);
  }

  /** Starts telling {@code changes} about label changes; closing stops it. */
  AutoCloseable watch(Changes changes);
}
