package io.porin.identity.allocate;

import io.porin.core.identity.AllocationRange;
import io.porin.service.ExhaustedException;

/** Every identity of the cluster's range is taken. */
public final class RangeExhaustedException extends ExhaustedException {
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
