package io.porin.kvstore;

import java.util.List;

/**
 * Every key under a prefix at one revision.
 *
 * @param revision the store's revision at which the keys were read
 * @param entries the keys, in key order
 */
public record Snapshot(long revision, List<Entry> entries) {
  public Snapshot {
    entries = List.copyOf(entries);
  }
}
