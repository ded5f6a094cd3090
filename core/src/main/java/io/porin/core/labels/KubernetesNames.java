package io.porin.core.labels;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Kubernetes' rules for label keys and values (apimachinery {@code validation.IsQualifiedName} and
 * {@code IsValidLabelValue}). Each check returns the problem, or empty when the text is valid.
 */
public final class KubernetesNames {
  private static final Pattern NAME = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final int NAME_MAX = 63;
  private static final int PREFIX_MAX = 253;

  private KubernetesNames() {}

  /** A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 chars. */
  public static Optional<String> keyProblem(String key) {
    if (key.isEmpty()) {
      return Optional.of("the key is empty");
    }
    int slash = key.lastIndexOf('/');
    String name = key;
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      name = key.substring(slash + 1);
      if (prefix.isEmpty() || prefix.length() > PREFIX_MAX) {
        return Optional.of("the key prefix must be 1 to 253 characters");
      }
      if (!DNS_SUBDOMAIN.matcher(prefix).matches()) {
        return Optional.of("the key prefix \"" + prefix + "\" is not a lowercase DNS subdomain");
      }
    }
    if (name.isEmpty() || name.length() > NAME_MAX) {
      return Optional.of("the key name must be 1 to 63 characters");
    }
    if (!NAME.matcher(name).matches()) {
      return Optional.of(
          "the key name \""
              + name
              + "\" must be alphanumerics, '-', '_' or '.', "
              + "starting and ending with an alphanumeric");
    }
    return Optional.empty();
  }

  /** A label value: empty, or at most 63 chars of alphanumerics, '-', '_', '.'. */
  public static Optional<String> valueProblem(String value) {
    if (value.isEmpty()) {
      return Optional.empty();
    }
    if (value.length() > NAME_MAX) {
      return Optional.of("the value is longer than 63 characters");
    }
    if (!NAME.matcher(value).matches()) {
      return Optional.of(
          "the value \""
              + value
              + "\" must be alphanumerics, '-', '_' or '.', "
              + "starting and ending with an alphanumeric");
    }
    return Optional.empty();
  }
}
