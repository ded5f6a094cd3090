package io.porin.cli;

import io.porin.cli.context.Contexts;
import io.porin.cli.output.OutputFormat;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Options every command takes, before or after the subcommand ({@code porin --context lab identity
 * list} or {@code porin identity list --context lab}). Declared on {@code porin} and inherited by
 * every subcommand.
 */
public class GlobalOptions {
  @Option(
      names = "--context",
      scope = ScopeType.INHERIT,
      description = "Context from the context file (default: $PORIN_CONTEXT, else the current one)")
  Optional<String> context = Optional.empty();

  @Option(
      names = {"-o", "--output"},
      scope = ScopeType.INHERIT,
      description =
          "Output format: table or json (default: table); observe also takes compact (its"
              + " default) and dict; sysdump: the bundle's file")
  String output;

  @Option(
      names = "--node",
      scope = ScopeType.INHERIT,
      description = "The node whose agent to ask (a lab's context knows every node's agent)")
  Optional<String> node = Optional.empty();

  /** The node agent to talk to: --node's, else the context's. */
  public String agentAddress() {
    Contexts.Context c = context().context();
    if (node.isEmpty()) {
      return c.agent();
    }
    String a = c.agents().get(node.get());
    if (a == null) {
      throw new IllegalArgumentException(
          "--node: \""
              + node.get()
              + "\" is not a node of this context ("
              + c.agents().keySet()
              + ")");
    }
    return a;
  }

  /** The node --node names, if it was given. */
  public Optional<String> node() {
    return node;
  }

  /** Whether --node was given. */
  public boolean nodeGiven() {
    return node.isPresent();
  }

  /** The options given to this invocation of {@code porin}. */
  public static GlobalOptions of(CommandSpec spec) {
    return ((PorinCommand) spec.root().userObject()).options;
  }

  /**
   * The output format (table when none was given).
   *
   * @throws IllegalArgumentException when -o names none
   */
  public OutputFormat output() {
    return outputGiven().orElse(OutputFormat.TABLE);
  }

  /**
   * The output format given with -o, if any.
   *
   * @throws IllegalArgumentException when -o names none
   */
  public java.util.Optional<OutputFormat> outputGiven() {
    return java.util.Optional.ofNullable(output).map(GlobalOptions::format);
  }

  /** -o/--output as given, for a command that takes a file there ({@code sysdump}). */
  public java.util.Optional<String> outputText() {
    return java.util.Optional.ofNullable(output);
  }

  /** The context to talk to. */
  public Contexts.Named context() {
    return Contexts.load(Contexts.defaultPath()).resolve(context);
  }

  /** Table, json (or jsonpb), compact or dict, in any case. */
  static OutputFormat format(String value) {
    try {
      if (value.equalsIgnoreCase("jsonpb")) {
        return OutputFormat.JSON;
      }
      return OutputFormat.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "-o/--output: \""
              + value
              + "\" is not one of table, json (observe: also compact, dict, jsonpb)");
    }
  }
}
