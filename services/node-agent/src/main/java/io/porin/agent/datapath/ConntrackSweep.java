package io.porin.agent.datapath;

/**
 * One endpoint's conntrack after a garbage-collection pass.
 *
 * @param live entries still current
 * @param removed expired entries the pass deleted
 * @param capacity the most the endpoint's map holds (beyond it, its own oldest entries go)
 */
public record ConntrackSweep(int endpointId, int live, int removed, int capacity) {
  public double pressure() {
    return capacity == 0 ? 0 : (double) live / capacity;
  }
}
