package io.porin.identity.join;

import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.tls.PeerIdentity;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

/**
 * A pod joins once: the first join of a pod (by UID) is recorded in etcd with the key it joined
 * with, on a lease longer than a certificate lives. A second join of that pod with another key is
 * refused, so a token that leaks from a pod after it joined (logs, {@code kubectl exec}) gives
 * nobody a certificate; the same key again is a retry of a join whose answer was lost.
 */
public final class JoinRecords {
  private final KvStore kv;
  private final Duration ttl;

  public JoinRecords(KvStore kv, Duration ttl) {
    this.kv = kv;
    this.ttl = ttl;
  }

  /**
   * Records the join of pod {@code uid} as {@code id} with {@code key}.
   *
   * @throws JoinRefused when the pod joined before with another key
   */
  public void claim(String uid, String podName, PeerIdentity id, PublicKey key) {
    String value = id.uri() + " " + fingerprint(key);
    String k = Keys.Joins.of(uid);
    long lease = kv.grantLease(ttl);
    if (kv.createIfAbsent(k, value, lease)) {
      return;
    }
    kv.revokeLease(lease);
    Optional<Entry> earlier = kv.get(k);
    if (earlier.isPresent() && earlier.get().value().equals(value)) {
      return;
    }
    throw new JoinRefused(
        403,
        "pod "
            + podName
            + " has joined already"
            + earlier.map(e -> " (as " + e.value().split(" ")[0] + ")").orElse("")
            + ": a pod joins once; delete the pod to join anew");
  }

  /** When an admin let {@code id} join again after a revocation, if one did. */
  public Optional<java.time.Instant> readmittedAt(PeerIdentity id) {
    return kv.get(Keys.Readmissions.of(id.kind().label(), id.name()))
        .flatMap(
            e -> {
              try {
                return Optional.of(java.time.Instant.parse(e.value().strip()));
              } catch (java.time.format.DateTimeParseException bad) {
                return Optional.empty();
              }
            });
  }

  static String fingerprint(PublicKey key) {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
