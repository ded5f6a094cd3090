package io.porin.core.policy;

import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import java.util.List;
import java.util.Optional;

/**
 * One term of a label selector. The key may name a source ({@code k8s:app}, {@code reserved:host},
 * {@code any:app}); without one it matches a label of any source, as in Cilium.
 */
public record Requirement(String key, Operator operator, List<String> values) {

  /** matchExpressions operators (matchLabels entries are {@code In} with one value). */
  public enum Operator {
    IN("In"),
    NOT_IN("NotIn"),
    EXISTS("Exists"),
    DOES_NOT_EXIST("DoesNotExist");

    private final String written;

    Operator(String written) {
      this.written = written;
    }

    public String written() {
      return written;
    }

    public static Optional<Operator> parse(String text) {
      for (Operator o : values()) {
        if (o.written.equals(text)) {
          return Optional.of(o);
        }
      }
      return Optional.empty();
    }
  }

  public Requirement {
    values = List.copyOf(values);
  }

  /** {@code key In (value)}. */
  public static Requirement equalTo(String key, String value) {
    return new Requirement(key, Operator.IN, List.of(value));
  }

  /** The source the key names, or empty when it matches any source. */
  public Optional<LabelSource> source() {
    int colon = key.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    return LabelSource.fromPrefix(key.substring(0, colon));
  }

  /** The key without its source prefix. */
  public String bareKey() {
    int colon = key.indexOf(':');
    return colon < 0 ? key : key.substring(colon + 1);
  }

  /** True when the labels satisfy this term; {@code NotIn} matches labels that lack the key. */
  public boolean matches(LabelSet labels) {
    Optional<LabelSource> source = source();
    String k = bareKey();
    boolean present = false;
    boolean valueIn = false;
    for (Label l : labels) {
      if (l.key().equals(k) && (source.isEmpty() || source.get() == l.source())) {
        present = true;
        if (values.contains(l.value())) {
          valueIn = true;
        }
      }
    }
    return switch (operator) {
      case IN -> valueIn;
      case NOT_IN -> !valueIn;
      case EXISTS -> present;
      case DOES_NOT_EXIST -> !present;
    };
  }

  @Override
  public String toString() {
    return switch (operator) {
      case IN ->
          values.size() == 1
              ? key + "=" + values.getFirst()
              : key + " in (" + String.join(",", values) + ")";
      case NOT_IN -> key + " notin (" + String.join(",", values) + ")";
      case EXISTS -> key;
      case DOES_NOT_EXIST -> "!" + key;
    };
  }
}
