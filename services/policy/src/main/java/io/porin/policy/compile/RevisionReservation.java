package io.porin.policy.compile;

import io.porin.core.policy.PolicyCompiler;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import org.jboss.logging.Logger;

/**
 * Policy revisions that never go backwards across restarts: before a revision is handed out, etcd
 * holds a reservation at least as high ({@link Keys.Policy#REVISION_RESERVED}), extended a block at
 * a time; a starting service continues after the stored reservation. So {@code porin policy wait
 * --revision N} means the same before and after a restart, and an agent never sees a lower revision
 * than one it acknowledged.
 */
final class RevisionReservation {
  private static final Logger LOG = Logger.getLogger(RevisionReservation.class);
  static final long BLOCK = 1000;

  private final KvStore kv;
  private long reserved = -1;
  private boolean failing;

  RevisionReservation(KvStore kv) {
    this.kv = kv;
  }

  /**
   * Whether the compiler's next revision may be handed out: on first use, the compiler continues
   * after the stored reservation; when the next revision is beyond the reservation, a new block is
   * reserved first. False when etcd cannot be read or written (nothing is committed meanwhile).
   */
  boolean ready(PolicyCompiler compiler) {
    try {
      if (reserved < 0) {
        long stored =
            kv.get(Keys.Policy.REVISION_RESERVED)
                .map(e -> Long.parseLong(e.value().strip()))
                .orElse(0L);
        compiler.continueAfter(stored);
        reserved = stored;
        if (stored > 0) {
          LOG.infof("policy revisions continue after %d (reserved by an earlier run)", stored);
        }
      }
      long next = compiler.revision() + 1;
      if (next > reserved) {
        long upTo = next - 1 + BLOCK;
        kv.put(Keys.Policy.REVISION_RESERVED, Long.toString(upTo), 0);
        reserved = upTo;
      }
      if (failing) {
        LOG.info("policy revisions reserved again: committing");
        failing = false;
      }
      return true;
    } catch (RuntimeException e) {
      if (!failing) {
        LOG.warnf("cannot reserve policy revisions in etcd (%s): commits wait", e.getMessage());
        failing = true;
      }
      return false;
    }
  }
}
