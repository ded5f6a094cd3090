package io.porin.cli;

import io.porin.cli.context.Contexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine.ParseResult;

/**
 * Runs a command where its context's services are reachable. A lab's services live in the lab's
 * control-plane namespace and the lab adds no route to the root namespace, so a context with a
 * {@code netns} makes {@code porin} run itself again inside that namespace ({@code nsenter
 * --net=}), with the same arguments, and pass on its exit code. Commands that manage labs or
 * contexts run where they are.
 */
final class NetnsReexec {
  private NetnsReexec() {}

  /** Set in the re-run command's environment: the namespace it runs in. */
  static final String ENV = "PORIN_NETNS";

  private static final Set<String> LOCAL = Set.of("lab", "context", "help");

  /** The exit code of the re-run, or empty when this command runs here. */
  static Optional<Integer> runElsewhere(ParseResult parsed) {
    if (!parsed.hasSubcommand() || LOCAL.contains(parsed.subcommand().commandSpec().name())) {
      return Optional.empty();
    }
    ParseResult sub = parsed.subcommand();
    if (sub.commandSpec().name().equals("clustermesh")
        && sub.hasSubcommand()
        && !sub.subcommand().commandSpec().name().equals("status")) {
      // enable, connect and disconnect manage labs (both of them, for connect)
      return Optional.empty();
    }
    for (ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return Optional.empty();
      }
    }
    Contexts.Named ctx = ((PorinCommand) parsed.commandSpec().userObject()).options.context();
    String netns = ctx.context().netns();
    if (netns == null || netns.equals(System.getenv(ENV))) {
      return Optional.empty();
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
    ProcessHandle.Info self = ProcessHandle.current().info();
    List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + path));
    cmd.add(self.command().orElseThrow());
    cmd.addAll(List.of(self.arguments().orElseThrow()));
    ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
    pb.environment().put(ENV, netns);
    try {
      return Optional.of(pb.start().waitFor());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot enter " + path + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of(130);
    }
  }
}
