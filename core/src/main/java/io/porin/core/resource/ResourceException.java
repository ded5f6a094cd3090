package io.porin.core.resource;

/**
 * A resource that cannot be accepted. The message names the document, the field path and the value:
 * {@code demo/frontend-egress: spec.egress[0].toPorts[0].ports[0].port: "70000" is not a port}.
 */
public final class ResourceException extends IllegalArgumentException {
  private final String document;
  private final String path;
  private final String problem;

  public ResourceException(String document, String path, String problem) {
    super(document + ": " + (path.isEmpty() ? "" : path + ": ") + problem);
    this.document = document;
    this.path = path;
    this.problem = problem;
  }

  /** The document, as {@code namespace/name}, {@code name} or {@code document N}. */
  public String document() {
    return document;
  }

  /** The field path, e.g. {@code spec.egress[0].toPorts}; empty for the whole document. */
  public String path() {
    return path;
  }

  /** What is wrong, with the value. */
  public String problem() {
    return problem;
  }
}
