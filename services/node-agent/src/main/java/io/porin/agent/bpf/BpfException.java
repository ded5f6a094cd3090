package io.porin.agent.bpf;

/** A libbpf or bpf(2) call failed: names the operation, the object and the errno. */
public final class BpfException extends RuntimeException {
  private final int errno;

  public BpfException(String operation, int errno) {
    super(operation + ": " + Errno.describe(errno));
    this.errno = errno;
  }

  public BpfException(String message) {
    super(message);
    this.errno = 0;
  }

  /** The positive errno, 0 when the failure was not a system error. */
  public int errno() {
    return errno;
  }

  /** Throws unless {@code rc} is 0 or positive (libbpf returns -errno). */
  static int check(int rc, String operation) {
    if (rc < 0) {
      throw new BpfException(operation, -rc);
    }
    return rc;
  }
}
