package io.porin.clustermesh.imports;

import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import io.porin.kvstore.Keys;

/**
 * What this cluster believes of a peer's exported records: only keys under the exported prefixes,
 * values of bounded size, and identities that are the peer's own — numbered in the peer's cluster
 * ID (canonical decimal, not a reserved number) and labelled with the peer's name as their cluster,
 * never reserved labels. Everything else is refused, and counted.
 */
final class ImportRules {
  /** A record larger than this is refused (etcd takes 1.5 MiB per request). */
  static final int MAX_VALUE_BYTES = 512 * 1024;

  private static final String IDS = "identities/id/";

  private ImportRules() {}

  /** Why a record is refused, or null when it is believed. */
  static String refusal(String peer, int peerClusterId, String key, String value) {
    if (Keys.Mesh.exported(Keys.ROOT + key).isEmpty() || key.contains("..")) {
      return "not a key a cluster exports";
    }
    int bytes = bytes(value);
    if (bytes > MAX_VALUE_BYTES) {
      return "a value of " + bytes + " bytes, more than " + MAX_VALUE_BYTES;
    }
    if (key.startsWith(IDS)) {
      String why = identityNumber(key.substring(IDS.length()), peer, peerClusterId);
      if (why != null) {
        return why;
      }
      return identityLabels(value, peer);
    }
    return null;
  }

  /** A value's size as etcd stores it (UTF-8). */
  static int bytes(String value) {
    int n = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** Why a deleted key is not one to act on, or null. */
  static String deleteRefusal(String key) {
    return Keys.Mesh.exported(Keys.ROOT + key).isEmpty() || key.contains("..")
        ? "not a key a cluster exports"
        : null;
  }

  private static String identityNumber(String text, String peer, int peerClusterId) {
    long id;
    try {
      id = Long.parseLong(text);
    } catch (NumberFormatException e) {
      return "identity \"" + text + "\" is not a number";
    }
    if (id < 0 || !Long.toString(id).equals(text) || id > 0xFFFFFFL) {
      return "identity \"" + text + "\" is not a cluster identity";
    }
    int cluster = (int) (id >>> 16) & 0xFF;
    if ((id & 0xFFFF) < 256) {
      return "identity " + id + " is a reserved number";
    }
    if (cluster != peerClusterId) {
      return "identity "
          + id
          + " is of cluster ID "
          + cluster
          + ", not of cluster "
          + peer
          + " (ID "
          + peerClusterId
          + ")";
    }
    return null;
  }

  private static String identityLabels(String value, String peer) {
    LabelSet labels;
    try {
      labels = LabelSet.parseCanonical(value);
    } catch (RuntimeException e) {
      return "labels \"" + value + "\" do not parse: " + e.getMessage();
    }
    if (labels.hasReserved()) {
      return "a peer's identity with reserved labels";
    }
    String cluster = labels.get(LabelSource.K8S, Label.POLICY_CLUSTER).map(Label::value).orElse("");
    if (!cluster.equals(peer)) {
      return "labels name cluster \""
          + cluster
          + "\" as "
          + Label.POLICY_CLUSTER
          + ", not \""
          + peer
          + "\"";
    }
    return null;
  }
}
