package io.porin.agent.testing;

import io.porin.agent.control.Publication;
import java.util.HashMap;
import java.util.Map;

/** Published keys in memory. */
public final class FakePublication implements Publication {
  public final Failures failures = new Failures(IllegalStateException::new);
  private final Journal journal;
  public final Map<String, String> keys = new HashMap<>();

  public FakePublication(Journal journal) {
    this.journal = journal;
  }

  @Override
  public synchronized void put(String key, String value) {
    failures.check("put");
    journal.add("publish " + key);
    keys.put(key, value);
  }

  @Override
  public synchronized void remove(String key) {
    journal.add("unpublish " + key);
    keys.remove(key);
  }
}
