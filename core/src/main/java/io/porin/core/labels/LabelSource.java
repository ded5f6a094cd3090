package io.porin.core.labels;

import java.util.Arrays;
import java.util.Optional;

/** Where a label came from; written before the key as in {@code k8s:app=web}. */
public enum LabelSource {
  /** Kubernetes: pod labels, the namespace, namespace labels, service account. */
  K8S("k8s"),
  /** Porin itself: the reserved identities (host, world, ...). Never accepted from clients. */
  RESERVED("reserved"),
  /** A CIDR prefix, for node-local CIDR identities. */
  CIDR("cidr"),
  /** A DNS name selector, for node-local FQDN identities. */
  FQDN("fqdn"),
  /** No source given. */
  UNSPEC("unspec");

  private final String prefix;

  LabelSource(String prefix) {
    this.prefix = prefix;
  }

  /** The source as written in a label string, e.g. {@code k8s}. */
  public String prefix() {
    return prefix;
  }

  /** The source written as {@code prefix}, if it is one. */
  public static Optional<LabelSource> fromPrefix(String prefix) {
    return Arrays.stream(values()).filter(s -> s.prefix.equals(prefix)).findFirst();
  }
}
