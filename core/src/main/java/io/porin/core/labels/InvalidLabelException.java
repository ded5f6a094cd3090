package io.porin.core.labels;

/** A label that cannot form an identity; the message names the label and what is wrong. */
public final class InvalidLabelException extends IllegalArgumentException {
  private final String label;

  public InvalidLabelException(String label, String problem) {
    super("label \"" + label + "\": " + problem);
    this.label = label;
  }

  /** The label as the caller wrote it. */
  public String label() {
    return label;
  }
}
