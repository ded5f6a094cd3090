package io.porin.cli.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.function.Supplier;

/** Prints one command's answer: as JSON for scripts, as a line of text for people. */
public final class Output {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Output() {}

  /** Prints the value as indented JSON. */
  public static void json(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    out.flush();
  }

  /** Prints {@code json} in JSON format, else the text line. */
  public static void print(
      PrintWriter out, OutputFormat format, Supplier<Object> json, Supplier<String> text) {
    if (format == OutputFormat.JSON) {
      json(out, json.get());
    } else {
      out.println(text.get());
      out.flush();
    }
  }
}
