package io.porin.core.resource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A node of a document tree with the path that leads to it, so that every error names the document,
 * the field and the value. Absent fields read as {@code null} (or empty); a field of the wrong type
 * is an error.
 */
final class Tree {
  private final String document;
  private final String path;
  private final Object value;

  Tree(String document, String path, Object value) {
    this.document = document;
    this.path = path;
    this.value = value;
  }

  String path() {
    return path;
  }

  Object value() {
    return value;
  }

  boolean isNull() {
    return value == null;
  }

  ResourceException error(String problem) {
    return new ResourceException(document, path, problem);
  }

  /** An error naming this node's value: {@code "70000" is not a port}. */
  ResourceException invalid(String problem) {
    return error(quote(value) + " " + problem);
  }

  /** The child field; absent fields give a null node. */
  Tree field(String name) {
    Map<String, Object> m = map();
    return new Tree(document, path.isEmpty() ? name : path + "." + name, m.get(name));
  }

  boolean has(String name) {
    return map().containsKey(name);
  }

  /** This node as a map; null reads as empty. */
  @SuppressWarnings("unchecked")
  Map<String, Object> map() {
    if (value == null) {
      return Map.of();
    }
    if (value instanceof Map<?, ?> m) {
      for (Object k : m.keySet()) {
        if (!(k instanceof String)) {
          throw error("key " + quote(k) + " is not a string");
        }
      }
      return (Map<String, Object>) m;
    }
    throw error("expected an object, got " + describe(value));
  }

  /** Fails on any field not in {@code known}, naming it (typos must not change meaning). */
  Tree onlyFields(Set<String> known) {
    for (String k : map().keySet()) {
      if (!known.contains(k)) {
        throw new ResourceException(
            document,
            path.isEmpty() ? k : path + "." + k,
            "unknown field (known here: " + String.join(", ", new TreeSet<>(known)) + ")");
      }
    }
    return this;
  }

  /** This node's items; null reads as empty. */
  List<Tree> list() {
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof List<?> l)) {
      throw error("expected a list, got " + describe(value));
    }
    List<Tree> out = new ArrayList<>(l.size());
    for (int i = 0; i < l.size(); i++) {
      out.add(new Tree(document, path + "[" + i + "]", l.get(i)));
    }
    return out;
  }

  /** True when the field is present and is a list (possibly empty). */
  boolean isList() {
    return value instanceof List<?>;
  }

  /** A string; numbers and booleans are not accepted where text is expected. */
  String string() {
    if (value == null) {
      return null;
    }
    if (value instanceof String s) {
      return s;
    }
    throw error("expected a string, got " + describe(value));
  }

  /** A string field that must be present and non-empty. */
  String requiredString() {
    String s = string();
    if (s == null || s.isEmpty()) {
      throw error("is required");
    }
    return s;
  }

  /** A string or a number, as text: Kubernetes' int-or-string. */
  String scalarText() {
    if (value == null) {
      return null;
    }
    if (value instanceof String || value instanceof Integer || value instanceof Long) {
      return value.toString();
    }
    throw error("expected a number or a string, got " + describe(value));
  }

  Boolean bool() {
    if (value == null) {
      return null;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    throw error("expected true or false, got " + describe(value));
  }

  /** A map of strings to strings (labels, annotations, matchLabels). */
  Map<String, String> stringMap() {
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : map().entrySet()) {
      Object v = e.getValue();
      if (v instanceof String s) {
        out.put(e.getKey(), s);
      } else if (v instanceof Integer || v instanceof Long || v instanceof Boolean) {
        throw field(e.getKey())
            .error("expected a string, got " + describe(v) + " (quote it: \"" + v + "\")");
      } else {
        throw field(e.getKey()).error("expected a string, got " + describe(v));
      }
    }
    return out;
  }

  static String quote(Object v) {
    return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
  }

  private static String describe(Object v) {
    return switch (v) {
      case null -> "nothing";
      case Map<?, ?> m -> "an object";
      case List<?> l -> "a list";
      case String s -> "the string \"" + s + "\"";
      case Boolean b -> "the boolean " + b;
      default -> "the number " + v;
    };
  }
}
