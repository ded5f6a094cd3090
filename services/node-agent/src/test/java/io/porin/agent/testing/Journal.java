package io.porin.agent.testing;

import java.util.ArrayList;
import java.util.List;

/** What the fakes were asked to do, in order, so tests can say what happened before what. */
public final class Journal {
  private final List<String> entries = new ArrayList<>();

  public synchronized void add(String entry) {
    entries.add(entry);
  }

  public synchronized List<String> entries() {
    return List.copyOf(entries);
  }

  /** The position of the first entry starting with {@code prefix}, or -1. */
  public synchronized int indexOf(String prefix) {
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).startsWith(prefix)) {
        return i;
      }
    }
    return -1;
  }

  public synchronized void clear() {
    entries.clear();
  }
}
