package io.porin.identity.join;

/** A join request refused; the message says why (it goes back to the caller and to the log). */
public final class JoinRefused extends RuntimeException {
  private final int status;

  public JoinRefused(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The HTTP status: 400 for a malformed request, 403 for a token that proves nothing. */
  public int status() {
    return status;
  }
}
