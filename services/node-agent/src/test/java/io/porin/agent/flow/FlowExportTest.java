package io.porin.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.MapLayouts;
import io.porin.api.hubble.flow.Flow;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The export writes one GetFlowsResponse per line (as hubble observe -o jsonpb), rotates by size
 * and keeps the configured number of files. Its output for the fixture flows is the CLI's golden
 * input (cli/src/test/resources/golden/flows.jsonl): -Dporin.golden.update=true rewrites it.
 */
class FlowExportTest {
  static final Path GOLDEN =
      Path.of("")
          .toAbsolutePath()
          .getParent()
          .getParent()
          .resolve("cli/src/test/resources/golden/flows.jsonl");

  @TempDir Path tmp;

  static List<Flow> fixtureFlows() {
    FlowFixtures fx = new FlowFixtures();
    List<Flow> flows = new ArrayList<>();
    long t = 123_456_789L;
    flows.add(fx.builder.build(fx.allowed(t), 1));
    // the reply of the allowed connection (a reply carries no policy: it was decided already)
    flows.add(
        fx.builder.build(
            FlowFixtures.event(
                t + 1_000_000,
                1,
                FlowFixtures.API,
                FlowFixtures.FRONTEND,
                0,
                FlowFixtures.API_IP,
                FlowFixtures.FRONTEND_IP,
                3000,
                46532,
                6,
                MapLayouts.DIR_INGRESS,
                MapLayouts.VERDICT_FORWARDED,
                0,
                0x12,
                true,
                0,
                MapLayouts.EVENT_POLICY_VERDICT),
            2));
    flows.add(fx.builder.build(fx.defaultDenied(t + 2_000_000), 3));
    flows.add(fx.builder.build(fx.explicitlyDenied(t + 3_000_000), 4));
    flows.add(fx.builder.build(fx.audited(t + 4_000_000), 5));
    flows.add(
        fx.builder.build(
            FlowFixtures.event(
                t + 5_000_000,
                1,
                FlowFixtures.FRONTEND,
                2,
                fx.allowCookie,
                InetAddress.ofLiteral("fd00:200:1::3"),
                InetAddress.ofLiteral("2001:db8::1"),
                7,
                0,
                58,
                MapLayouts.DIR_EGRESS,
                MapLayouts.VERDICT_FORWARDED,
                0,
                0,
                false,
                3,
                MapLayouts.EVENT_POLICY_VERDICT),
            6));
    flows.add(fx.builder.build(fx.malformed(t + 6_000_000), 7));
    // a connection that went through WireGuard (IP.encrypted)
    DatapathEvent a = fx.allowed(t + 1_007_000_000);
    flows.add(
        fx.builder.build(
            new DatapathEvent(
                a.timestampNanos(),
                a.ifindex(),
                a.endpointId(),
                a.srcIdentity(),
                a.dstIdentity(),
                a.cookie(),
                a.policyRevision(),
                a.source(),
                a.destination(),
                46534,
                a.destinationPort(),
                a.protocol(),
                a.direction(),
                a.verdict(),
                a.reason(),
                a.tcpFlags(),
                a.reply(),
                a.matchType(),
                a.type(),
                a.icmpType(),
                a.length(),
                a.revNat(),
                MapLayouts.EVENT_F_ENCRYPTED),
            8));
    return flows;
  }

  @Test
  void writesHubbleJsonLinesMatchingTheCliGoldenInput() throws IOException {
    Path file = tmp.resolve("flows.jsonl");
    try (FlowExport e = new FlowExport(file, 1 << 20, 3)) {
      e.write(fixtureFlows());
    }
    String written = Files.readString(file);
    assertThat(written.lines()).hasSize(8).allMatch(l -> l.startsWith("{\"flow\":{"));
    // a lost event, as the agent sends it to a reader, closes the golden input
    String lost =
        "{\"lost_events\":{\"source\":\"HUBBLE_RING_BUFFER\",\"num_events_lost\":\"42\"},"
            + "\"node_name\":\"node-1\",\"time\":\"2026-11-22T10:23:46Z\"}\n";
    if (Boolean.getBoolean("porin.golden.update")) {
      Files.writeString(GOLDEN, written + lost);
    }
    assertThat(written + lost).isEqualTo(Files.readString(GOLDEN));
  }

  @Test
  void rotatesBySizeAndKeepsTheConfiguredFiles() throws IOException {
    Path file = tmp.resolve("flows.jsonl");
    List<Flow> flows = fixtureFlows();
    try (FlowExport e = new FlowExport(file, 2048, 2)) {
      for (int i = 0; i < 20; i++) {
        e.write(flows);
      }
    }
    assertThat(file).exists();
    assertThat(tmp.resolve("flows.jsonl.1")).exists();
    assertThat(tmp.resolve("flows.jsonl.2")).exists();
    assertThat(tmp.resolve("flows.jsonl.3")).doesNotExist();
    for (Path p : List.of(file, tmp.resolve("flows.jsonl.1"))) {
      assertThat(Files.size(p)).isLessThan(2048 + 2048);
      assertThat(Files.readAllLines(p))
          .allMatch(l -> l.startsWith("{\"flow\":{") && l.endsWith("}"));
    }
  }
}
