package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The README's main command ({@code bin/demo}), run as a user runs it: a 3-node lab, the three-tier
 * app and its policies from examples/, and real traffic between the pods; then {@code bin/demo
 * down}, after which nothing of the lab is left. Always brought down, also on failure.
 */
@org.junit.jupiter.api.Tag("privileged")
class DemoE2EIT {
  static final String LAB = "e2edemo";

  @Test
  void theReadmeDemoRunsAndCleansUp() throws Exception {
    LabHarness h = new LabHarness(LAB);
    Map<String, String> env = new HashMap<>(h.env());
    env.put("PORIN_DEMO_LAB", LAB);
    h.porin("lab", "down", "--name", LAB);
    try {
      Repo.Result up = Repo.run(env, Repo.Duration.ofSeconds(300), "bin/demo");
      assertThat(up.exitCode()).as(up.stdout() + up.stderr()).isZero();
      assertThat(up.stdout())
          .contains("lab " + LAB + " is up")
          .containsPattern("Nodes:\\s+OK\\s+3/3 agents ready")
          .contains("CiliumNetworkPolicy demo/default-deny created")
          .containsPattern("revision \\d+ is enforced on all 3 nodes")
          .containsPattern("demo\\s+api\\s+" + LAB + "-node\\d\\s+10\\.200\\.")
          // by service name: cluster IPs, and the socket translation named in the flows
          .containsPattern("demo\\s+api\\s+ClusterIP\\s+10\\.96\\.\\d+\\.\\d+,fd00:96::")
          .contains("frontend -- curl -s -m 3 http://api:3000/")
          .containsPattern(
              "demo/frontend \\(ID:\\d+\\) -> demo/api:3000 \\[service demo/api\\] \\(ID:\\d+\\)"
                  + " post-xlate-fwd TRANSLATED")
          .containsPattern("(?s)frontend -- curl .*?:3000/\ndemo/api   <- answered: ALLOWED")
          .containsPattern("(?s)api -- curl .*?:5432/\ndemo/database   <- answered: ALLOWED")
          .containsPattern(
              "(?s)frontend -- curl .*?:5432/\n\\(no answer in 3 s: BLOCKED by the eBPF datapath\\)")
          .contains(
              "denied by default deny (no rule allows it), enabled by demo/api-to-database,"
                  + " demo/default-deny")
          // The flow of the blocked attempt, naming the policies that decided.
          .containsPattern(
              "demo/frontend:\\d+ \\(ID:\\d+\\) -> demo/database:5432 \\(ID:\\d+\\)"
                  + " policy-verdict:none EGRESS DENIED \\(TCP Flags: SYN\\) by demo/allow-dns,"
                  + " demo/default-deny, demo/frontend-egress")
          .containsPattern(
              "demo/frontend:\\d+ \\(ID:\\d+\\) -> demo/api:3000 \\(ID:\\d+\\)"
                  + " policy-verdict:L3-L4 INGRESS ALLOWED \\(TCP Flags: SYN\\) by demo/frontend-to-api");
      // The pods as the lab's context shows them: each on a node, with an identity and a netns.
      JsonNode pods = LabHarness.JSON.readTree(h.ok("get", "pods", "-n", "demo", "-o", "json"));
      assertThat(pods.path("pods")).hasSize(3);
      for (JsonNode p : pods.path("pods")) {
        assertThat(p.path("identity").asLong()).isGreaterThan(255);
        assertThat(p.path("netns").asText()).startsWith("/var/run/netns/" + LAB + "-demo-");
        assertThat(p.path("status").asText()).isEqualTo("ready");
      }
    } finally {
      Repo.Result down = Repo.run(env, Repo.Duration.ofSeconds(120), "bin/demo", "down");
      assertThat(down.exitCode()).as(down.stdout() + down.stderr()).isZero();
    }
    LabHarness.assertGone(LAB);
  }
}
