package io.porin.cli;

import io.porin.cli.context.Contexts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import picocli.CommandLine.ParseResult;

/**
 * Runs a command where its context's services are reachable. A lab's services live in the lab's
 * control-plane namespace and the lab adds no route to the root namespace, so a context with a
 * {@code netns} makes {@code porin} enter that namespace ({@link Netns}) before the command runs
 * and before it starts any thread. Commands that manage labs or contexts run where they are.
 */
final class NetnsEntry {
  private NetnsEntry() {}

  private static final Set<String> LOCAL = Set.of("lab", "context", "help");

  /** Enters the context's namespace when this command talks to its services. */
  static void enterIfNeeded(ParseResult parsed) {
    if (!parsed.hasSubcommand() || LOCAL.contains(parsed.subcommand().commandSpec().name())) {
      return;
    }
    ParseResult sub = parsed.subcommand();
    if (sub.commandSpec().name().equals("clustermesh")
        && sub.hasSubcommand()
        && !sub.subcommand().commandSpec().name().equals("status")) {
      // enable, connect and disconnect manage labs (both of them, for connect)
      return;
    }
    for (ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return;
      }
    }
    Contexts.Named ctx = ((PorinCommand) parsed.commandSpec().userObject()).options.context();
    String netns = ctx.context().netns();
    if (netns == null) {
      return;
    }
    Path path = Path.of("/var/run/netns", netns);
    if (!Files.exists(path)) {
      throw new IllegalArgumentException(
          "context \""
              + ctx.name()
              + "\" is reached through network namespace "
              + netns
              + ", which does not exist: is the lab up? (porin lab list)");
    }
    Netns.enter(path);
  }
}
