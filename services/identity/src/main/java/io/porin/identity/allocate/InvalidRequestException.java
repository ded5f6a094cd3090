package io.porin.identity.allocate;

/** A request the service refuses; the message names the field and the value. */
public final class InvalidRequestException extends IllegalArgumentException {
  public InvalidRequestException(String field, String problem) {
    super(field + ": " + problem);
  }
}
