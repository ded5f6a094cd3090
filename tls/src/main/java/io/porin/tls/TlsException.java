package io.porin.tls;

/** A certificate, key or TLS setting that cannot be used; the message names the file or field. */
public final class TlsException extends RuntimeException {
  public TlsException(String message) {
    super(message);
  }

  public TlsException(String message, Throwable cause) {
    super(message, cause);
  }
}
