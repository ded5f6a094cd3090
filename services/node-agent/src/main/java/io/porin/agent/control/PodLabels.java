package io.porin.agent.control;

import io.porin.core.labels.LabelSet;

/**
 * Where a new pod's identity labels come from: the standalone store or the Kubernetes API. Both
 * derive them as the policy service does (core's EndpointLabels), so both arrive at the identity
 * the policy was compiled for.
 */
public interface PodLabels {
  /** The labels, and whether the pod itself was found (else: only its namespace's labels). */
  record Found(LabelSet labels, boolean podFound) {}

  Found labels(String namespace, String pod);
}
