package io.porin.agent.cni;

/** A CNI call failed: the code and messages of the CNI error result. */
public final class CniException extends RuntimeException {
  /** Codes 0..99 are the spec's; 100+ are Porin's. */
  public static final int INCOMPATIBLE_VERSION = 1;

  public static final int UNSUPPORTED_FIELD = 2;
  public static final int INVALID_ENVIRONMENT = 4;
  public static final int IO_FAILURE = 5;
  public static final int DECODE_FAILURE = 6;
  public static final int INVALID_CONFIG = 7;
  public static final int TRY_AGAIN_LATER = 11;
  public static final int WIRING_FAILED = 100;
  public static final int DATAPATH_FAILED = 101;
  public static final int ADDRESSES_EXHAUSTED = 102;
  public static final int CHECK_FAILED = 110;
  public static final int PERMISSION_DENIED = 120;
  public static final int INTERNAL = 999;

  private final int code;
  private final String details;

  public CniException(int code, String message, String details) {
    super(message);
    this.code = code;
    this.details = details == null ? "" : details;
  }

  public int code() {
    return code;
  }

  public String details() {
    return details;
  }
}
