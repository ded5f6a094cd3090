package io.porin.service;

/** A range or pool has nothing left to hand out; answered as RESOURCE_EXHAUSTED. */
public class ExhaustedException extends RuntimeException {
  public ExhaustedException(String message) {
    super(message);
  }
}
