package io.porin.agent.testing;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;

/** Operations a fake is told to fail, by name: each throws what a real failure would. */
public final class Failures {
  private final Set<String> failing = new HashSet<>();
  private final Function<String, RuntimeException> error;

  public Failures(Function<String, RuntimeException> error) {
    this.error = error;
  }

  public synchronized void failOn(String operation) {
    failing.add(operation);
  }

  public synchronized void clear() {
    failing.clear();
  }

  synchronized void check(String operation) {
    if (failing.contains(operation)) {
      throw error.apply(operation + " failed (as the test asked)");
    }
  }
}
