package io.porin.core.labels;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * A canonical, sorted set of labels with at most one label per source and key. Two label sets with
 * the same labels have the same {@link #canonical()} string, whatever order they were given in;
 * that string is what identities are keyed by.
 */
public final class LabelSet implements Iterable<Label> {
  private static final LabelSet EMPTY = new LabelSet(List.of());

  private final List<Label> labels;
  private final String canonical;

  private LabelSet(List<Label> sorted) {
    this.labels = List.copyOf(sorted);
    StringBuilder sb = new StringBuilder();
    for (Label l : labels) {
      sb.append(l).append(';');
    }
    this.canonical = sb.toString();
  }

  /** The empty label set. */
  public static LabelSet empty() {
    return EMPTY;
  }

  /**
   * The set of the given labels.
   *
   * @throws InvalidLabelException when two labels have the same source and key but different values
   */
  public static LabelSet of(Collection<Label> labels) {
    List<Label> sorted = new ArrayList<>(labels);
    sorted.sort(null);
    List<Label> unique = new ArrayList<>(sorted.size());
    for (Label l : sorted) {
      if (!unique.isEmpty()) {
        Label last = unique.getLast();
        if (last.source() == l.source() && last.key().equals(l.key())) {
          if (last.value().equals(l.value())) {
            continue;
          }
          throw new InvalidLabelException(
              l.toString(), "conflicts with \"" + last + "\" (one value per source and key)");
        }
      }
      unique.add(l);
    }
    return new LabelSet(unique);
  }

  /** The set of the given labels. */
  public static LabelSet of(Label... labels) {
    return of(List.of(labels));
  }

  /**
   * Parses each string with {@link Label#parse}.
   *
   * @throws InvalidLabelException naming the first label that is not valid
   */
  public static LabelSet parse(Collection<String> labels) {
    List<Label> parsed = new ArrayList<>(labels.size());
    for (String s : labels) {
      parsed.add(Label.parse(s));
    }
    return of(parsed);
  }

  /**
   * Parses the canonical form {@code src:k=v;src:k=v;} back into a label set.
   *
   * @throws InvalidLabelException naming the first label that is not valid
   */
  public static LabelSet parseCanonical(String canonical) {
    List<String> parts = new ArrayList<>();
    for (String p : canonical.split(";")) {
      if (!p.isEmpty()) {
        parts.add(p);
      }
    }
    return parse(parts);
  }

  /** The labels in canonical order (key, then source). */
  public List<Label> labels() {
    return labels;
  }

  public int size() {
    return labels.size();
  }

  public boolean isEmpty() {
    return labels.isEmpty();
  }

  /** The label with this source and key, if any. */
  public Optional<Label> get(LabelSource source, String key) {
    for (Label l : labels) {
      if (l.source() == source && l.key().equals(key)) {
        return Optional.of(l);
      }
    }
    return Optional.empty();
  }

  /** True when any label has the reserved source. */
  public boolean hasReserved() {
    return labels.stream().anyMatch(Label::isReserved);
  }

  /** The stable string form: every label as {@code source:key=value;}, in canonical order. */
  public String canonical() {
    return canonical;
  }

  /** The first 8 bytes of the SHA-256 of {@link #canonical()}: stable across JVMs and releases. */
  public long stableHash() {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
      long h = 0;
      for (int i = 0; i < 8; i++) {
        h = (h << 8) | (d[i] & 0xff);
      }
      return h;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** The labels written as {@code source:key=value}, in canonical order. */
  public List<String> strings() {
    return labels.stream().map(Label::toString).toList();
  }

  @Override
  public Iterator<Label> iterator() {
    return labels.iterator();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LabelSet other && canonical.equals(other.canonical);
  }

  @Override
  public int hashCode() {
    return canonical.hashCode();
  }

  @Override
  public String toString() {
    return canonical;
  }
}
