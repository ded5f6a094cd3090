package io.porin.cli;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code porin}'s entry point: a plain picocli command line, no application framework to start. A
 * command whose context is reached through a network namespace (a lab's) enters it first, in this
 * process ({@link NetnsEntry}).
 */
public final class Main {
  private Main() {}

  /** Exit code for input the command refuses (a bad context file, an unknown context, ...). */
  public static final int BAD_INPUT = 2;

  public static void main(String[] args) {
    CommandLine cl = commandLine(args);
    int code = cl.execute(args);
    io.porin.cli.context.ContextTls.shutdown();
    cl.getOut().flush();
    cl.getErr().flush();
    System.out.flush();
    System.err.flush();
    // Runtime.halt: the command is done and its output flushed; nothing waits on shutdown hooks
    // or non-daemon threads (gRPC's, the HTTP client's) winding down.
    Runtime.getRuntime().halt(code);
  }

  /** The global options that take a value (the value may be the next argument). */
  private static final Set<String> VALUED = Set.of("--context", "-o", "--output", "--node");

  /**
   * The command line for {@code args}, with bad input reported as one line naming what is wrong.
   * Picocli builds the model of every command it is given, by reflection; only the subcommand
   * {@code args} name is given (all of them for help, or when none is named), so a command does not
   * pay for the model of all the others.
   */
  public static CommandLine commandLine(String[] args) {
    return commandLine(args, true);
  }

  /**
   * As {@link #commandLine(String[])}; without {@code enterNetns} a command runs in this process's
   * namespace (the lab's command server is in its lab's already).
   */
  public static CommandLine commandLine(String[] args, boolean enterNetns) {
    CommandLine cl = new CommandLine(new PorinCommand());
    Optional<Class<?>> named = subcommand(args);
    for (Class<?> c : named.map(List::<Class<?>>of).orElse(PorinCommand.SUBCOMMANDS)) {
      cl.addSubcommand(c);
    }
    CommandLine.IExecutionStrategy local = cl.getExecutionStrategy();
    return cl.setExecutionStrategy(
            parsed -> {
              try {
                if (enterNetns) {
                  NetnsEntry.enterIfNeeded(parsed);
                }
              } catch (IllegalArgumentException e) {
                cl.getErr().println("porin: " + e.getMessage());
                cl.getErr().flush();
                return BAD_INPUT;
              }
              return local.execute(parsed);
            })
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("porin: " + e.getMessage());
                cmd.getErr().flush();
                return BAD_INPUT;
              }
              if (e instanceof io.porin.lab.LabException) {
                cmd.getErr().println("porin: " + e.getMessage());
                cmd.getErr().flush();
                return ServiceCall.FAILED;
              }
              throw e;
            });
  }

  /** The subcommand {@code args} name, if they name one of {@link PorinCommand#SUBCOMMANDS}. */
  static Optional<Class<?>> subcommand(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.startsWith("-")) {
        if (VALUED.contains(a)) {
          i++;
        }
        continue;
      }
      for (Class<?> c : PorinCommand.SUBCOMMANDS) {
        if (c.getAnnotation(Command.class).name().equals(a)) {
          return Optional.of(c);
        }
      }
      return Optional.empty();
    }
    return Optional.empty();
  }
}
