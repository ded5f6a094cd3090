package io.porin.core.identity;

import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import java.util.Arrays;
import java.util.Optional;

/** The reserved identities: fixed numbers, the same in every cluster, never allocated. */
public enum ReservedIdentity {
  /** The local node, and pods in the host network namespace. */
  HOST(1, "host"),
  /** Anything outside the cluster (single-stack). */
  WORLD(2, "world"),
  /** Pods Porin does not manage. */
  UNMANAGED(3, "unmanaged"),
  /** The health-check endpoint. */
  HEALTH(4, "health"),
  /** An endpoint whose labels are not known yet. */
  INIT(5, "init"),
  /** Every other node of the cluster. */
  REMOTE_NODE(6, "remote-node"),
  /** The Kubernetes API server. */
  KUBE_APISERVER(7, "kube-apiserver"),
  /** The source address of the ingress proxy. */
  INGRESS(8, "ingress"),
  /** IPv4 outside the cluster (dual-stack). */
  WORLD_IPV4(9, "world-ipv4"),
  /** IPv6 outside the cluster (dual-stack). */
  WORLD_IPV6(10, "world-ipv6");

  private final NumericIdentity id;
  private final String labelName;

  ReservedIdentity(int id, String labelName) {
    this.id = new NumericIdentity(id);
    this.labelName = labelName;
  }

  /** The fixed number. */
  public NumericIdentity id() {
    return id;
  }

  /** The name used in {@code reserved:<name>} and in policy entities. */
  public String labelName() {
    return labelName;
  }

  /** The identity's labels: {@code reserved:<name>}. */
  public LabelSet labels() {
    return LabelSet.of(Label.reserved(labelName));
  }

  /** The reserved identity with this number. */
  public static Optional<ReservedIdentity> of(NumericIdentity id) {
    return Arrays.stream(values()).filter(r -> r.id.equals(id)).findFirst();
  }

  /** The reserved identity whose label set this is. */
  public static Optional<ReservedIdentity> of(LabelSet labels) {
    return Arrays.stream(values()).filter(r -> r.labels().equals(labels)).findFirst();
  }
}
