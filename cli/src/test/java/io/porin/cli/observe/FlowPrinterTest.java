package io.porin.cli.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlowPrinterTest {
  /** The golden input's flows by their UUID's last digit. */
  static Flow flow(int n) throws Exception {
    List<GetFlowsResponse> in = FlowPrinterGoldenTest.input();
    return in.stream()
        .filter(r -> r.hasFlow() && r.getFlow().getUuid().endsWith("-00000000000" + n))
        .findFirst()
        .orElseThrow()
        .getFlow();
  }

  static Flow encrypted(Flow f) {
    return f.toBuilder().setIP(f.getIP().toBuilder().setEncrypted(true)).build();
  }

  @Test
  void anEncryptedFlowSaysSoAfterTheVerdict() throws Exception {
    FlowPrinter p = new FlowPrinter(FlowPrinter.Format.COMPACT, ZoneOffset.UTC);
    assertThat(p.compact(flow(8)))
        .isEqualTo(
            "Nov 22 10:23:46.130: demo/frontend:46534 (ID:70001) -> demo/api:3000 (ID:70002)"
                + " policy-verdict:L3-L4 EGRESS ALLOWED ENCRYPTED (TCP Flags: SYN) by"
                + " demo/frontend-egress");
    // a to-endpoint flow (no policy verdict) puts it after FORWARDED
    Flow traced =
        flow(2).toBuilder()
            .setEventType(flow(2).getEventType().toBuilder().setType(4))
            .setIP(flow(2).getIP().toBuilder().setEncrypted(true))
            .build();
    assertThat(p.compact(traced)).contains("FORWARDED ENCRYPTED");
    Flow allowed = flow(1);
    assertThat(p.compact(allowed)).doesNotContain("ENCRYPTED");
    assertThat(p.compact(encrypted(allowed)))
        .endsWith("EGRESS ALLOWED ENCRYPTED (TCP Flags: SYN) by demo/frontend-egress");
  }

  @Test
  void dictHasALineForEncryptedFlowsOnly() throws Exception {
    FlowPrinter p = new FlowPrinter(FlowPrinter.Format.DICT, ZoneOffset.UTC);
    assertThat(p.dict(flow(8))).contains("  ENCRYPTED: WireGuard\n");
    assertThat(p.dict(flow(1))).doesNotContain("ENCRYPTED");
  }
}
