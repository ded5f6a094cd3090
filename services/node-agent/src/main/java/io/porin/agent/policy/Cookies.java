package io.porin.agent.policy;

import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.RuleRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Rule cookies: the 32-bit number a policy map entry (and every event it decides) carries, naming
 * what decided. One cookie per distinct attribution, kept for the agent's lifetime, so events
 * decoded later still resolve. Cookie 0 means "nothing to attribute" (policy not enforced).
 */
public final class Cookies {
  /**
   * What a cookie stands for: the rules behind an entry, or the policies that turned default deny
   * on when nothing matched.
   */
  public record Attribution(boolean byDefault, List<RuleRef> rules, List<PolicyRef> defaultDenyBy) {
    public Attribution {
      rules = List.copyOf(rules);
      defaultDenyBy = List.copyOf(defaultDenyBy);
    }

    /** "demo/api-ingress ingress[0]" or "default deny, enabled by demo/x". */
    public String describe() {
      if (byDefault) {
        List<String> names = new ArrayList<>();
        defaultDenyBy.forEach(p -> names.add(p.displayName()));
        return names.isEmpty()
            ? "default deny"
            : "default deny, enabled by " + String.join(", ", names);
      }
      List<String> names = new ArrayList<>();
      rules.forEach(r -> names.add(r.shortName()));
      return String.join(", ", names);
    }
  }

  private final Map<Attribution, Integer> byAttribution = new HashMap<>();
  private final List<Attribution> byCookie = new ArrayList<>();

  public Cookies() {
    byCookie.add(null); // cookie 0
  }

  /** The cookie of the rules behind an entry. */
  public synchronized int ofRules(List<RuleRef> rules) {
    return intern(new Attribution(false, rules, List.of()));
  }

  /** The cookie of default deny, enabled by these policies. */
  public synchronized int ofDefault(List<PolicyRef> enabledBy) {
    return intern(new Attribution(true, List.of(), enabledBy));
  }

  private int intern(Attribution a) {
    return byAttribution.computeIfAbsent(
        a,
        k -> {
          byCookie.add(k);
          return byCookie.size() - 1;
        });
  }

  public synchronized Optional<Attribution> resolve(int cookie) {
    return cookie > 0 && cookie < byCookie.size()
        ? Optional.of(byCookie.get(cookie))
        : Optional.empty();
  }
}
