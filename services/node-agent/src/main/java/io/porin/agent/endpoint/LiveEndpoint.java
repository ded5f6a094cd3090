package io.porin.agent.endpoint;

import io.porin.agent.datapath.PolicyContent;

/**
 * An endpoint of this node and what is known of its enforcement right now. Readers (the API,
 * metrics, flows) see each field as last written; writers hold the {@link Endpoints} lock.
 */
public final class LiveEndpoint {
  private volatile Endpoint endpoint;
  private volatile EndpointState state =
      new EndpointState.WaitingForPolicy("no policy received yet");
  private volatile long policyRevision;
  private volatile int entries;
  private volatile boolean ingressEnforced = true;
  private volatile boolean egressEnforced = true;

  // The datapath side, under the Endpoints lock.
  /** What the live slot holds; null when unknown (restored from a previous run). */
  PolicyContent applied;

  /**
   * The endpoint map's value as last written (its live slot and node-unique revision included);
   * null before the first write.
   */
  io.porin.agent.datapath.EndpointConfig config;

  /** Taken back from a previous run: enforcing its maps until the first sync re-derives them. */
  boolean restored;

  /** The identity its addresses are announced with (differs from its own while relabelling). */
  int announcedIdentity;

  LiveEndpoint(Endpoint endpoint) {
    this.endpoint = endpoint;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  void endpoint(Endpoint e) {
    this.endpoint = e;
  }

  public EndpointState state() {
    return state;
  }

  void state(EndpointState s) {
    this.state = s;
  }

  /** The cluster policy revision this endpoint enforces. */
  public long policyRevision() {
    return policyRevision;
  }

  void policyRevision(long r) {
    this.policyRevision = r;
  }

  public int entries() {
    return entries;
  }

  public boolean ingressEnforced() {
    return ingressEnforced;
  }

  public boolean egressEnforced() {
    return egressEnforced;
  }

  void enforcement(int entries, boolean ingress, boolean egress) {
    this.entries = entries;
    this.ingressEnforced = ingress;
    this.egressEnforced = egress;
  }
}
