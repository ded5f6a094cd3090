package io.porin.core.resource;

import java.util.Map;

/**
 * A parsed, validated resource. {@link #source()} is the document as it was given (a tree of plain
 * maps and lists), which is what the store keeps and what {@link Json} writes.
 */
public sealed interface Resource
    permits NamespaceResource, PodResource, ServiceResource, PolicyResource {

  ResourceId id();

  Map<String, String> labels();

  Map<String, String> annotations();

  /** The document this resource was read from. */
  Map<String, Object> source();
}
