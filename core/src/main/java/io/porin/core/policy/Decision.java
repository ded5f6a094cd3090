package io.porin.core.policy;

import java.util.List;

/**
 * The verdict for one direction of a flow and why: the entry that decided (with its rules), or the
 * direction's default and the policies that made it default deny.
 */
public record Decision(
    Direction direction,
    Verdict verdict,
    PolicyEntry entry,
    boolean enforced,
    List<PolicyRef> defaultDenyBy) {

  public Decision {
    defaultDenyBy = List.copyOf(defaultDenyBy);
  }

  /** True when no entry matched and the direction's default decided. */
  public boolean byDefault() {
    return entry == null;
  }

  /** The rules that decided: the entry's, or none for a default. */
  public List<RuleRef> rules() {
    return entry == null ? List.of() : entry.rules();
  }

  /** One line for people: what happened and which policy made it happen. */
  public String explain() {
    String dir = direction.display();
    if (entry != null) {
      String rules = String.join(", ", entry.rules().stream().map(RuleRef::shortName).toList());
      return switch (verdict) {
        case ALLOW -> "allowed by " + rules;
        case DENY -> "denied by " + rules;
        case AUDIT -> "audit: would be denied by " + rules + " (audit mode: passed)";
      };
    }
    if (!enforced) {
      return "allowed: no policy enforces " + dir + " on this endpoint";
    }
    String by =
        defaultDenyBy.isEmpty()
            ? "policy enforcement mode \"always\""
            : String.join(", ", defaultDenyBy.stream().map(PolicyRef::displayName).toList());
    return switch (verdict) {
      case DENY -> "denied by default deny (no rule allows it), enabled by " + by;
      case AUDIT ->
          "audit: would be denied by default deny, enabled by " + by + " (audit mode: passed)";
      case ALLOW -> "allowed";
    };
  }
}
