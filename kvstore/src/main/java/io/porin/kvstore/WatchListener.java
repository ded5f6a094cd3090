package io.porin.kvstore;

import java.util.List;

/**
 * Receives a watch's changes, in revision order, each exactly once. Called on one thread at a time;
 * a listener that throws has the exception logged and the watch continues.
 */
public interface WatchListener {

  /**
   * The full state under the prefix, replacing whatever the listener knew: at the start when no
   * revision was given, and again when the revision to resume from was compacted away.
   */
  void onReset(Snapshot snapshot);

  /** Changes after the last snapshot or event, in revision order. */
  void onEvents(List<WatchEvent> events);

  /** The watch ended for good (closed store, or an error retries cannot fix). */
  default void onClosed(Throwable cause) {}
}
