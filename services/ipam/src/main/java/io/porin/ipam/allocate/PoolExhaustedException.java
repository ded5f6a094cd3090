package io.porin.ipam.allocate;

import io.porin.core.ipam.ClusterPool;

/** A family's pools have no free node block. */
public final class PoolExhaustedException extends RuntimeException {
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
