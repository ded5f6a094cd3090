package io.porin.cli.observe;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.porin.api.hubble.observer.GetFlowsResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every output format against its golden file, for flows the agent produces (the input,
 * src/test/resources/golden/flows.jsonl, is what an agent's export wrote: allowed, default deny,
 * explicit deny, audit, a reply, IPv6 and ICMP, a non-policy drop and a lost event). Run with
 * -Dporin.golden.update=true to rewrite the expected files after an intended change.
 */
class FlowPrinterGoldenTest {
  static final Path DIR = Path.of("src/test/resources/golden");

  static List<GetFlowsResponse> input() throws IOException {
    List<GetFlowsResponse> out = new ArrayList<>();
    for (String line : Files.readAllLines(DIR.resolve("flows.jsonl"))) {
      if (!line.isBlank()) {
        GetFlowsResponse.Builder b = GetFlowsResponse.newBuilder();
        JsonFormat.parser().merge(line, b);
        out.add(b.build());
      }
    }
    return out;
  }

  @ParameterizedTest
  @EnumSource(FlowPrinter.Format.class)
  void matchesTheGoldenFile(FlowPrinter.Format format) throws IOException {
    FlowPrinter p = new FlowPrinter(format, ZoneOffset.UTC);
    StringBuilder got = new StringBuilder();
    for (GetFlowsResponse r : input()) {
      String s = p.print(r);
      if (!s.isEmpty()) {
        got.append(s).append('\n');
      }
    }
    Path golden =
        DIR.resolve("observe." + format.name().toLowerCase(java.util.Locale.ROOT) + ".txt");
    if (Boolean.getBoolean("porin.golden.update")) {
      Files.writeString(golden, got.toString());
    }
    assertThat(got.toString()).isEqualTo(Files.readString(golden));
  }
}
