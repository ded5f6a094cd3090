package io.porin.cli.output;

import io.porin.cli.Env;

/**
 * Colours as {@code cilium status} shows them: OK green, not OK red. Only on a terminal, never with
 * {@code --no-color} or {@code $NO_COLOR} (no-color.org). A command the lab's command server runs
 * is on a terminal when its client's standard output is one (the client says so).
 */
public final class Colors {
  private final boolean on;

  private Colors(boolean on) {
    this.on = on;
  }

  /** Set by the command server's client: its standard output is a terminal ("1") or not. */
  public static final String CLIENT_TERMINAL = io.porin.cli.client.Protocol.TERMINAL;

  public static Colors of(boolean noColor) {
    String no = Env.get("NO_COLOR");
    if (noColor || (no != null && !no.isEmpty())) {
      return new Colors(false);
    }
    if (Env.CLIENT.isBound()) {
      return new Colors("1".equals(Env.get(CLIENT_TERMINAL)));
    }
    java.io.Console c = System.console();
    return new Colors(c != null && c.isTerminal());
  }

  /** Colours turned on or off, whatever the terminal (tests). */
  public static Colors forced(boolean on) {
    return new Colors(on);
  }

  public String green(String s) {
    return on ? "\u001b[32m" + s + "\u001b[0m" : s;
  }

  public String red(String s) {
    return on ? "\u001b[31m" + s + "\u001b[0m" : s;
  }
}
