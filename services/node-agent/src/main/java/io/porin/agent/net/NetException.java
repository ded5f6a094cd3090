package io.porin.agent.net;

/** Wiring a link, address or route failed. */
public final class NetException extends RuntimeException {
  public NetException(String message) {
    super(message);
  }
}
