package io.porin.cli.output;

/**
 * How a command prints: a table for people, JSON for scripts. {@code porin observe} also takes
 * Hubble's compact (its default) and dict; other commands print those as a table.
 */
public enum OutputFormat {
  TABLE,
  JSON,
  COMPACT,
  DICT
}
