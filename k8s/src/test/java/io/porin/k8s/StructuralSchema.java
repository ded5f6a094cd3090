package io.porin.k8s;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks a document against a CRD's structural OpenAPI v3 schema as the API server does with strict
 * field validation (kubectl's default): types, enums, required fields, sizes, and fields the schema
 * does not declare refused (unless it preserves unknown fields). The subset of OpenAPI the Porin
 * CRDs use; anything else in a schema is an error here, so the check never passes by not
 * understanding.
 */
final class StructuralSchema {
  private static final java.util.Set<String> UNDERSTOOD =
      java.util.Set.of(
          "type",
          "properties",
          "items",
          "required",
          "enum",
          "additionalProperties",
          "x-kubernetes-preserve-unknown-fields",
          "x-kubernetes-int-or-string",
          "maxItems",
          "maxLength",
          "format",
          "description");

  private StructuralSchema() {}

  static List<String> check(Map<String, Object> schema, Object value) {
    List<String> out = new ArrayList<>();
    check(schema, value, "", out);
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void check(Map<String, Object> schema, Object v, String path, List<String> out) {
    for (String k : schema.keySet()) {
      if (!UNDERSTOOD.contains(k)) {
        throw new IllegalArgumentException("the schema at " + path + " uses " + k);
      }
    }
    if (v == null) {
      return; // null is pruned by the API server for non-nullable fields
    }
    if (Boolean.TRUE.equals(schema.get("x-kubernetes-int-or-string"))) {
      if (!(v instanceof Integer || v instanceof Long || v instanceof String)) {
        out.add(path + ": must be an integer or a string");
      }
      return;
    }
    String type = (String) schema.get("type");
    boolean preserve = Boolean.TRUE.equals(schema.get("x-kubernetes-preserve-unknown-fields"));
    switch (type == null ? "" : type) {
      case "object" -> {
        if (!(v instanceof Map<?, ?> map)) {
          out.add(path + ": must be an object");
          return;
        }
        var props = (Map<String, Object>) schema.get("properties");
        var additional = (Map<String, Object>) schema.get("additionalProperties");
        for (String r : (List<String>) schema.getOrDefault("required", List.of())) {
          if (!map.containsKey(r)) {
            out.add(path + "." + r + ": is required");
          }
        }
        for (var e : ((Map<String, Object>) map).entrySet()) {
          String p = path + "." + e.getKey();
          if (props != null && props.containsKey(e.getKey())) {
            check((Map<String, Object>) props.get(e.getKey()), e.getValue(), p, out);
          } else if (additional != null) {
            check(additional, e.getValue(), p, out);
          } else if (props != null && !preserve) {
            out.add(p + ": unknown field");
          }
        }
      }
      case "array" -> {
        if (!(v instanceof List<?> list)) {
          out.add(path + ": must be a list");
          return;
        }
        Object max = schema.get("maxItems");
        if (max != null && list.size() > ((Number) max).intValue()) {
          out.add(path + ": has more than " + max + " items");
        }
        for (int i = 0; i < list.size(); i++) {
          check((Map<String, Object>) schema.get("items"), list.get(i), path + "[" + i + "]", out);
        }
      }
      case "string" -> {
        if (!(v instanceof String s)) {
          out.add(path + ": must be a string");
          return;
        }
        var en = (List<Object>) schema.get("enum");
        if (en != null && !en.contains(s)) {
          out.add(path + ": \"" + s + "\" is not one of " + en);
        }
        Object max = schema.get("maxLength");
        if (max != null && s.length() > ((Number) max).intValue()) {
          out.add(path + ": is longer than " + max);
        }
      }
      case "integer" -> {
        if (!(v instanceof Integer || v instanceof Long)) {
          out.add(path + ": must be an integer");
        }
      }
      case "boolean" -> {
        if (!(v instanceof Boolean)) {
          out.add(path + ": must be true or false");
        }
      }
      default -> throw new IllegalArgumentException("the schema at " + path + " has type " + type);
    }
  }
}
