package io.porin.kvstore;

/** A kvstore operation failed; {@link #kind()} says whether retrying can help. */
public class KvStoreException extends RuntimeException {

  /** What went wrong. */
  public enum Kind {
    /** etcd could not be reached or did not answer in time: retry later, nothing was written. */
    UNAVAILABLE,
    /** The lease named in the operation does not exist (it expired or was revoked). */
    LEASE_NOT_FOUND,
    /** The watch revision was compacted away; a fresh list is needed. */
    COMPACTED,
    /** Anything else. */
    OTHER
  }

  private final Kind kind;

  public KvStoreException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
