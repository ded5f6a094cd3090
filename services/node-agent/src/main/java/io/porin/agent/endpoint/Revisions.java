package io.porin.agent.endpoint;

import io.porin.agent.datapath.Datapath;

/**
 * Endpoint policy revisions, unique on the node: across endpoints (an endpoint id reused by a new
 * pod never meets a revision of the old one) and across agent restarts (the last one handed out is
 * kept in the datapath's node state). Conntrack entries decided under another revision are decided
 * again.
 */
public final class Revisions {
  private final Datapath datapath;
  private int last;

  /** Continues after the last revision the datapath recorded. */
  public Revisions(Datapath datapath) {
    this.datapath = datapath;
    this.last = datapath.lastRevision();
  }

  /** A revision an endpoint holds (restored): later ones come after it. */
  public synchronized void observe(int revision) {
    if (Integer.compareUnsigned(revision, last) > 0) {
      last = revision;
    }
  }

  /** The next revision (recorded in the datapath before it is used). */
  public synchronized int next() {
    last++;
    if (last == 0) {
      last = 1; // after wrapping: 0 stays "never decided"
    }
    datapath.saveLastRevision(last);
    return last;
  }
}
