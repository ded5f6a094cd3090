package io.porin.core.labels;

import java.util.Comparator;
import java.util.Objects;

/**
 * One label: source, key and value, written {@code source:key=value} (or {@code source:key} when
 * the value is empty), as Cilium writes them.
 *
 * <p>Keys of the {@code k8s} and {@code unspec} sources follow Kubernetes' label rules, with the
 * namespace-label prefix {@value #NAMESPACE_LABELS_PREFIX} allowed in front of a Kubernetes key.
 */
public record Label(LabelSource source, String key, String value) implements Comparable<Label> {

  /** The label that names a pod's namespace; always part of identity. */
  public static final String POD_NAMESPACE = "io.kubernetes.pod.namespace";

  /** Prefix of the labels that carry the pod's namespace's labels; always part of identity. */
  public static final String NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";

  /** The label that names the cluster a pod belongs to (for cluster mesh). */
  public static final String POLICY_CLUSTER = "io.cilium.k8s.policy.cluster";

  private static final Comparator<Label> ORDER =
      Comparator.comparing(Label::key)
          .thenComparing(l -> l.source().prefix())
          .thenComparing(Label::value);

  public Label {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    String written = format(source, key, value);
    switch (source) {
      case K8S, UNSPEC -> {
        String k =
            key.startsWith(NAMESPACE_LABELS_PREFIX)
                    && key.length() > NAMESPACE_LABELS_PREFIX.length()
                ? key.substring(NAMESPACE_LABELS_PREFIX.length())
                : key;
        KubernetesNames.keyProblem(k)
            .ifPresent(
                p -> {
                  throw new InvalidLabelException(written, p);
                });
        KubernetesNames.valueProblem(value)
            .ifPresent(
                p -> {
                  throw new InvalidLabelException(written, p);
                });
      }
      case RESERVED, CIDR, FQDN -> {
        if (key.isEmpty()) {
          throw new InvalidLabelException(written, "the key is empty");
        }
        if (containsSeparator(key) || containsSeparator(value)) {
          throw new InvalidLabelException(
              written, "key and value may not contain ';', '=' or white space");
        }
      }
    }
  }

  /** A label of the {@code k8s} source. */
  public static Label k8s(String key, String value) {
    return new Label(LabelSource.K8S, key, value);
  }

  /** A label of the {@code reserved} source with an empty value, e.g. {@code reserved:host}. */
  public static Label reserved(String key) {
    return new Label(LabelSource.RESERVED, key, "");
  }

  /**
   * Parses {@code source:key=value}, {@code source:key} or {@code key=value} (source unspec).
   *
   * @throws InvalidLabelException naming the text when it is not a valid label
   */
  public static Label parse(String text) {
    Objects.requireNonNull(text, "label");
    if (text.isBlank()) {
      throw new InvalidLabelException(text, "the label is empty");
    }
    LabelSource source = LabelSource.UNSPEC;
    String rest = text;
    int colon = text.indexOf(':');
    int equals = text.indexOf('=');
    if (colon >= 0 && (equals < 0 || colon < equals)) {
      String prefix = text.substring(0, colon);
      source =
          LabelSource.fromPrefix(prefix)
              .orElseThrow(
                  () -> new InvalidLabelException(text, "unknown label source \"" + prefix + "\""));
      rest = text.substring(colon + 1);
    }
    int eq = rest.indexOf('=');
    return eq < 0
        ? new Label(source, rest, "")
        : new Label(source, rest.substring(0, eq), rest.substring(eq + 1));
  }

  /** True for labels of the reserved source. */
  public boolean isReserved() {
    return source == LabelSource.RESERVED;
  }

  @Override
  public int compareTo(Label other) {
    return ORDER.compare(this, other);
  }

  /** The label written as {@code source:key=value}. */
  @Override
  public String toString() {
    return format(source, key, value);
  }

  private static String format(LabelSource source, String key, String value) {
    return value.isEmpty()
        ? source.prefix() + ":" + key
        : source.prefix() + ":" + key + "=" + value;
  }

  private static boolean containsSeparator(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ';' || c == '=' || Character.isWhitespace(c)) {
        return true;
      }
    }
    return false;
  }
}
