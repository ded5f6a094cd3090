package io.porin.kvstore;

/**
 * A change to one key.
 *
 * @param type put or delete
 * @param entry the key after a put; for a delete, the key, its value before the delete, and the
 *     delete's revision as {@code modRevision}
 */
public record WatchEvent(Type type, Entry entry) {
  /** What happened to the key. */
  public enum Type {
    PUT,
    DELETE
  }

  /** The revision at which the change happened. */
  public long revision() {
    return entry.modRevision();
  }
}
