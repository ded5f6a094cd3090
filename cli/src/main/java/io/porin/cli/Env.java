package io.porin.cli;

import io.porin.lab.LabDirectory;
import java.util.Map;

/**
 * The environment a command runs with: this process's, or, for a command the lab's command server
 * runs for a {@code porin} client, the client's ({@code PORIN_CONFIG}, {@code PORIN_CONTEXT},
 * {@code PORIN_LAB_DIR}, ...), bound for that command's thread.
 */
public final class Env {
  private Env() {}

  /** The client's environment, while the command server runs one of its commands. */
  public static final ScopedValue<Map<String, String>> CLIENT = ScopedValue.newInstance();

  private static volatile boolean server;

  /**
   * From now on this process is the command server: a variable read outside a client's command (a
   * thread that did not inherit its binding) is an error, never the server's own environment.
   */
  public static void serverOnly() {
    server = true;
  }

  /** The variable's value, or null. */
  public static String get(String name) {
    if (CLIENT.isBound()) {
      return CLIENT.get().get(name);
    }
    if (server) {
      throw new IllegalStateException("$" + name + " read outside a client's command");
    }
    return System.getenv(name);
  }

  /** Where labs keep their state ({@code $PORIN_LAB_DIR}, else the default). */
  public static LabDirectory labDirectory() {
    return LabDirectory.fromEnvironment(Env::get);
  }
}
