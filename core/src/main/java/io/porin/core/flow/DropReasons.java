package io.porin.core.flow;

import java.util.Map;

/**
 * The datapath's drop reason codes (Cilium's, from bpf/lib/common.h) and Cilium's texts for them
 * (pkg/monitor/api/drop.go), as flows, {@code porin observe} and the {@code
 * cilium_drop_count_total} metric show them.
 */
public final class DropReasons {
  private DropReasons() {}

  /** No allow rule matched: default deny. */
  public static final int POLICY_DENIED = 133;

  /** An explicit deny rule matched. */
  public static final int POLICY_DENY = 181;

  private static final Map<Integer, String> TEXT =
      Map.ofEntries(
          Map.entry(130, "Invalid source mac"),
          Map.entry(131, "Invalid destination mac"),
          Map.entry(132, "Invalid source ip"),
          Map.entry(POLICY_DENIED, "Policy denied"),
          Map.entry(134, "Invalid packet"),
          Map.entry(135, "CT: Truncated or invalid header"),
          Map.entry(139, "Unsupported L3 protocol"),
          Map.entry(141, "Error writing to packet"),
          Map.entry(155, "CT: Map insertion failed"),
          Map.entry(156, "Invalid IPv6 extension header"),
          Map.entry(157, "IP fragmentation not supported"),
          Map.entry(175, "First logical datagram fragment not found"),
          Map.entry(POLICY_DENY, "Policy denied by denylist"),
          Map.entry(196, "TTL exceeded"),
          Map.entry(203, "Endpoint policy program not available"));

  /** Cilium's text for a reason, or "Unknown reason N". */
  public static String text(int reason) {
    return TEXT.getOrDefault(reason, "Unknown reason " + reason);
  }

  /** Whether a drop is a policy decision. */
  public static boolean byPolicy(int reason) {
    return reason == POLICY_DENIED || reason == POLICY_DENY;
  }
}
