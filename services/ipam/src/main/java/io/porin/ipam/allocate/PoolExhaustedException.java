package io.porin.ipam.allocate;

import io.porin.core.ipam.ClusterPool;
import io.porin.service.ExhaustedException;

/** A family's pools have no free node block. */
public final class PoolExhaustedException extends ExhaustedException {
  public PoolExhaustedException(String setting, ClusterPool pool, long nodesHolding) {
    super(
        "the "
            + pool.family().label()
            + " pool "
            + pool
            + " ("
            + setting
            + ") is exhausted: "
            + nodesHolding
            + " nodes hold all "
            + pool.blockCount()
            + " blocks; release nodes or add a pool");
  }
}
