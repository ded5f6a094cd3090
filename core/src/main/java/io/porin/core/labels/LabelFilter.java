package io.porin.core.labels;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Decides which labels form identity and which are only information, as Cilium's {@code
 * labelsfilter}: each prefix is a regular expression matched at the start of the key, optionally
 * limited to one source ({@code k8s:app.kubernetes.io}); a leading {@code !} makes it an ignore
 * prefix. A label is kept when no include prefix was configured by the user and no ignore prefix
 * matches, or when the longest matching include is longer than the shortest matching ignore. So
 * {@code io.kubernetes.pod.namespace} is kept although {@code !io.kubernetes} matches it.
 *
 * <p>Labels that churn (pod-template-hash, controller-uid, job-name, ...) never form identity; the
 * pod's namespace and its namespace's labels always do.
 */
public final class LabelFilter {

  /** The default prefixes: Cilium's defaults plus the churning labels Porin also ignores. */
  public static final List<String> DEFAULT_PREFIXES =
      List.of(
          "reserved:.*",
          Pattern.quote(Label.POD_NAMESPACE),
          Pattern.quote(Label.NAMESPACE_LABELS_PREFIX),
          Pattern.quote("app.kubernetes.io"),
          Pattern.quote(Label.POLICY_CLUSTER),
          Pattern.quote("io.cilium.k8s.policy.serviceaccount"),
          "!io\\.kubernetes",
          "!kubernetes\\.io",
          "!statefulset\\.kubernetes\\.io/pod-name",
          "!apps\\.kubernetes\\.io/pod-index",
          "!batch\\.kubernetes\\.io",
          "!.*beta\\.kubernetes\\.io",
          "!k8s\\.io",
          "!pod-template-generation",
          "!pod-template-hash",
          "!controller-revision-hash",
          "!controller-uid",
          "!job-name",
          "!annotation.*",
          "!etcd_node",
          "!topology\\.kubernetes\\.io");

  /** One configured prefix. */
  public record Prefix(Optional<LabelSource> source, Pattern expression, boolean ignore) {
    /** The length of the key's match at its start, or -1 when the prefix does not match. */
    int matchLength(Label label) {
      if (source.isPresent() && source.get() != label.source()) {
        return -1;
      }
      Matcher m = expression.matcher(label.key());
      return m.lookingAt() ? m.end() : -1;
    }

    @Override
    public String toString() {
      return source.map(s -> s.prefix() + ":").orElse("")
          + (ignore ? "!" : "")
          + expression.pattern();
    }
  }

  /** The labels of a set split into those that form identity and those that only inform. */
  public record Result(LabelSet identityLabels, LabelSet informationLabels) {}

  private final List<Prefix> prefixes;
  private final boolean whitelist;

  private LabelFilter(List<Prefix> prefixes, boolean whitelist) {
    this.prefixes = List.copyOf(prefixes);
    this.whitelist = whitelist;
  }

  /** The default filter. */
  public static LabelFilter defaults() {
    return configured(List.of());
  }

  /**
   * The default prefixes plus the user's. Any user include prefix switches the filter to whitelist
   * mode: then only labels an include prefix matches form identity.
   *
   * @throws IllegalArgumentException naming the prefix that does not parse
   */
  public static LabelFilter configured(List<String> userPrefixes) {
    List<Prefix> all = new ArrayList<>();
    for (String p : DEFAULT_PREFIXES) {
      all.add(parsePrefix(p));
    }
    boolean whitelist = false;
    for (String p : userPrefixes) {
      if (p.isBlank()) {
        continue;
      }
      Prefix parsed = parsePrefix(p.strip());
      whitelist |= !parsed.ignore();
      all.add(parsed);
    }
    return new LabelFilter(all, whitelist);
  }

  /**
   * Parses {@code [source:][!]regex}.
   *
   * @throws IllegalArgumentException naming the prefix when it does not parse
   */
  public static Prefix parsePrefix(String text) {
    Optional<LabelSource> source = Optional.empty();
    String rest = text;
    int colon = text.indexOf(':');
    if (colon >= 0) {
      String s = text.substring(0, colon);
      if (!s.equals("any")) {
        source =
            Optional.of(
                LabelSource.fromPrefix(s)
                    .orElseThrow(
                        () ->
                            new IllegalArgumentException(
                                "label prefix \"" + text + "\": unknown source \"" + s + "\"")));
      }
      rest = text.substring(colon + 1);
    }
    boolean ignore = rest.startsWith("!");
    if (ignore) {
      rest = rest.substring(1);
    }
    if (rest.isEmpty()) {
      throw new IllegalArgumentException("label prefix \"" + text + "\": the prefix is empty");
    }
    try {
      return new Prefix(source, Pattern.compile(rest), ignore);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "label prefix \"" + text + "\": not a regular expression: " + e.getDescription(), e);
    }
  }

  /** The prefixes in force, defaults first. */
  public List<Prefix> prefixes() {
    return prefixes;
  }

  /** True when the label forms identity. */
  public boolean formsIdentity(Label label) {
    int included = 0;
    int ignored = 0;
    for (Prefix p : prefixes) {
      int len = p.matchLength(label);
      if (len < 0) {
        continue;
      }
      if (p.ignore()) {
        if (ignored == 0 || len < ignored) {
          ignored = len;
        }
      } else if (len > included) {
        included = len;
      }
    }
    return (!whitelist && ignored == 0) || included > ignored;
  }

  /** Splits a label set into identity and information labels. */
  public Result filter(LabelSet labels) {
    List<Label> identity = new ArrayList<>();
    List<Label> information = new ArrayList<>();
    for (Label l : labels) {
      (formsIdentity(l) ? identity : information).add(l);
    }
    return new Result(LabelSet.of(identity), LabelSet.of(information));
  }
}
