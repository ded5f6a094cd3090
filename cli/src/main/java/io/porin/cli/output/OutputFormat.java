package io.porin.cli.output;

/** How a command prints: a table for people, JSON for scripts. */
public enum OutputFormat {
  TABLE,
  JSON
}
