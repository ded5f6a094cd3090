package io.porin.lab;

/** A lab operation that cannot go on; the message names what and why. */
public final class LabException extends RuntimeException {
  public LabException(String message) {
    super(message);
  }
}
