package io.porin.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.porin.kvstore.testing.EtcdProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main command, run as a user runs it, on free ports; always brought down. */
class DemoE2EIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void theReadmeDemoRunsAndCleansUp() throws Exception {
    Map<String, String> env =
        Map.of(
            "PORIN_DEMO_DIR", tmp.resolve("demo").toString(),
            "PORIN_DEMO_ETCD_PORT", Integer.toString(EtcdProcess.freePort()),
            "PORIN_DEMO_IDENTITY_PORT", Integer.toString(EtcdProcess.freePort()),
            "PORIN_DEMO_IPAM_PORT", Integer.toString(EtcdProcess.freePort()),
            "PORIN_DEMO_POLICY_PORT", Integer.toString(EtcdProcess.freePort()),
            "PORIN_CONFIG", tmp.resolve("config").toString());
    try {
      Repo.Result up = Repo.run(env, Repo.Duration.ofSeconds(240), "bin/demo");
      assertThat(up.exitCode()).as(up.stdout() + up.stderr()).isZero();
      assertThat(up.stdout())
          .contains("[1/7] etcd", "[2/7] identity service", "reserved:host", "reserved:world-ipv6")
          .contains(
              "demo-node1   10.0.0.0/24   fd00::/120",
              "ipv4 pool 10.0.0.0/8 in /24 blocks: 3 of 65536 used")
          .contains("(ignored: k8s:pod-template-hash=7d9c5b)")
          .contains("CiliumNetworkPolicy demo/default-deny created")
          .containsPattern(
              "(?s)--from-pod demo/frontend --to-pod demo/api --port 3000\n.*?"
                  + "ALLOW  allowed by demo/frontend-egress egress\\[0\\].*?"
                  + "ALLOW  allowed by demo/frontend-to-api ingress\\[0\\]\nverdict: ALLOW")
          .containsPattern(
              "(?s)--from-pod demo/api --to-pod demo/database --port 5432\n.*?verdict: ALLOW")
          .containsPattern(
              "(?s)--from-pod demo/frontend --to-pod demo/database --port 5432\n.*?"
                  + "DENY  denied by default deny \\(no rule allows it\\), enabled by"
                  + " demo/api-to-database, demo/default-deny\nverdict: DENY");
      Repo.Result trace =
          Repo.run(
              env,
              Repo.Duration.ofSeconds(60),
              "bin/porin",
              "policy",
              "trace",
              "--from-pod",
              "demo/frontend",
              "--to-pod",
              "demo/database",
              "--port",
              "5432",
              "-o",
              "json");
      assertThat(trace.exitCode()).as(trace.stderr()).isZero();
      JsonNode t = JSON.readTree(trace.stdout());
      assertThat(t.get("verdict").asText()).isEqualTo("DENY");
      assertThat(t.get("ingress").get("byDefault").asBoolean()).isTrue();
      assertThat(t.get("ingress").get("defaultDenyBy").get(0).get("name").asText())
          .isEqualTo("api-to-database");
      Repo.Result list =
          Repo.run(env, Repo.Duration.ofSeconds(60), "bin/porin", "identity", "list", "-o", "json");
      assertThat(list.exitCode()).as(list.stderr()).isZero();
      JsonNode ids = JSON.readTree(list.stdout());
      assertThat(ids).hasSize(13);
      List<String> apps = new ArrayList<>();
      for (JsonNode i : ids) {
        if (!i.get("reserved").asBoolean()) {
          assertThat(i.get("clusterId").asInt()).isEqualTo(1);
          // The demo's owner (a stand-in node) does not keep its 30 s lease alive, and the demo's
          // policy steps take about that long: the reference may already have expired.
          assertThat(i.get("references").asInt()).isBetween(0, 1);
          i.get("labels")
              .forEach(
                  l -> {
                    if (l.asText().startsWith("k8s:app=")) {
                      apps.add(l.asText());
                    }
                  });
        }
      }
      assertThat(apps)
          .containsExactlyInAnyOrder("k8s:app=frontend", "k8s:app=api", "k8s:app=database");
    } finally {
      Repo.Result down = Repo.run(env, Repo.Duration.ofSeconds(60), "bin/demo", "down");
      assertThat(down.exitCode()).isZero();
    }
    assertThat(tmp.resolve("demo")).doesNotExist();
  }
}
