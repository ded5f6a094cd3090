package io.porin.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

/** This same {@code porin} (the same JVM and jar), to run another of its commands. */
public final class Self {
  private Self() {}

  /** The command line that runs {@code porin args...}. */
  public static List<String> command(CommandSpec spec, List<String> args) {
    ProcessHandle.Info info = ProcessHandle.current().info();
    List<String> all = List.of(info.arguments().orElseThrow());
    int ours = spec.root().commandLine().getParseResult().originalArgs().size();
    List<String> cmd = new ArrayList<>();
    cmd.add(info.command().orElseThrow());
    cmd.addAll(all.subList(0, all.size() - ours));
    cmd.addAll(args);
    return cmd;
  }

  /** Runs {@code porin args...} with this terminal; its exit code. */
  public static int run(CommandSpec spec, List<String> args) {
    try {
      return new ProcessBuilder(command(spec, args)).inheritIO().start().waitFor();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    }
  }
}
