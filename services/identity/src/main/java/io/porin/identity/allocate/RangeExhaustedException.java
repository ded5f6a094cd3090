package io.porin.identity.allocate;

import io.porin.core.identity.AllocationRange;

/** Every identity of the cluster's range is taken. */
public final class RangeExhaustedException extends RuntimeException {
  public RangeExhaustedException(AllocationRange range, int used) {
    super(
        "no free identity in "
            + range
            + ": "
            + used
            + " of "
            + range.size()
            + " are allocated; release identities or wait for garbage collection");
  }
}
