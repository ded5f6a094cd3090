package io.porin.core.resource;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every file users already have (examples/seed, copied from the guides) parses with the outcome its
 * README describes: accepted and enforced, accepted but refused as not yet enforced (L7, toFQDNs,
 * mutual auth, encryption, host firewall — with the field named), or refused as invalid.
 */
class SeedExamplesTest {
  static final Path SEED = Path.of("../examples/seed");

  /** Outcome per document, by name: "ok", "unenforced: <text in the reason>", "invalid: <text>". */
  static Stream<Arguments> files() {
    return Stream.of(
        Arguments.of(
            "00-zero-trust-namespace-isolation.yaml",
            Map.of(
                "production/default-deny-all", "ok",
                "production/allow-dns", "unenforced: spec.egress[0].toPorts[0].rules.dns",
                "production/frontend-to-backend",
                    "unenforced: spec.egress[0].toPorts[0].rules.http: L7 HTTP rules")),
        Arguments.of(
            "01-l7-http-path-filtering.yaml",
            Map.of("production/api-gateway-policy", "unenforced: spec.egress[1].toFQDNs")),
        Arguments.of(
            "02-dns-based-egress.yaml",
            Map.of("production/external-api-access", "unenforced: toFQDNs")),
        Arguments.of(
            "04-clustermesh-global-service.yaml",
            Map.of("production/global-backend", "ok", "production/allow-cross-cluster", "ok")),
        Arguments.of(
            "06-selective-encryption-namespace.yaml",
            Map.of("production/encrypted-namespace", "ok")),
        Arguments.of(
            "08-host-firewall.yaml",
            Map.of("host-firewall", "unenforced: spec.nodeSelector: host firewall")),
        Arguments.of(
            "09-zero-trust-identity-audit.yaml",
            Map.of(
                "production/default-deny", "ok",
                "production/allow-by-identity", "ok",
                "production/audit-mode-policy",
                    "invalid: production/audit-mode-policy: spec: is empty")),
        Arguments.of("10-tenant-isolation.yaml", Map.of("tenant-a/tenant-isolation", "ok")),
        Arguments.of("11-environment-isolation.yaml", Map.of("env-isolation", "ok")),
        Arguments.of(
            "13-mtls-required.yaml",
            Map.of(
                "production/mtls-required", "unenforced: spec.ingress[0].authentication: mutual")),
        Arguments.of("15-tdd-backend-policy.yaml", Map.of("test-ns/backend-policy", "ok")),
        Arguments.of("35-default-deny.yaml", Map.of("production/default-deny", "ok")),
        Arguments.of(
            "50-three-tier-app.yaml",
            Map.of(
                "demo", "ok",
                "demo/database", "ok",
                "demo/api", "ok",
                "demo/frontend", "ok")),
        Arguments.of(
            "51-three-tier-policies.yaml",
            Map.of(
                "demo/default-deny", "ok",
                "demo/allow-dns", "ok",
                "demo/frontend-to-api", "ok",
                "demo/frontend-egress", "ok",
                "demo/api-to-database", "ok",
                "demo/api-egress", "ok")),
        Arguments.of(
            "52-three-tier-l7-get-only.yaml",
            Map.of("demo/frontend-to-api-l7", "unenforced: rules.http")),
        Arguments.of(
            "53-clusterwide-essentials.yaml",
            Map.of("allow-essential", "ok", "default-deny", "ok", "allow-health-checks", "ok")),
        Arguments.of(
            "54-api-http-policy.yaml",
            Map.of("production/api-http-policy", "unenforced: rules.http")),
        Arguments.of(
            "55-payment-egress-fqdn.yaml",
            Map.of("production/payment-egress", "unenforced: toFQDNs")),
        Arguments.of(
            "56-database-security-incident.yaml", Map.of("production/database-security", "ok")),
        Arguments.of(
            "57-networkpolicy-backend-allow-frontend.yaml",
            Map.of("production/backend-allow-frontend", "ok")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("files")
  void parsesAsItsGuideSays(String file, Map<String, String> expected) throws IOException {
    ResourceParser.Result r = ResourceParser.parse(Files.readString(SEED.resolve(file)));
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Resource res : r.resources()) {
      String name = res.id().displayName();
      String want = expected.get(name);
      assertThat(want).as("unexpected document %s", name).isNotNull();
      seen.add(name);
      if (res instanceof PolicyResource p && want.startsWith("unenforced: ")) {
        assertThat(p.enforceable()).as(name).isFalse();
        assertThat(String.join("\n", p.notYetEnforced()))
            .as(name)
            .contains(want.substring("unenforced: ".length()))
            .contains("not ");
      } else {
        assertThat(want).as(name).isEqualTo("ok");
        if (res instanceof PolicyResource p) {
          assertThat(p.notYetEnforced()).as(name).isEmpty();
        }
      }
    }
    for (ResourceParser.Refusal refusal : r.refusals()) {
      String want = expected.get(refusal.name());
      assertThat(want)
          .as("refused %s: %s", refusal.name(), refusal.message())
          .startsWith("invalid: ");
      assertThat(refusal.message()).startsWith(want.substring("invalid: ".length()));
      seen.add(refusal.name());
    }
    assertThat(seen).isEqualTo(expected.keySet());
  }

  @org.junit.jupiter.api.Test
  void everySeedFileIsCovered() throws IOException {
    try (Stream<Path> files = Files.list(SEED)) {
      List<String> yaml =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".yaml"))
              .sorted()
              .toList();
      assertThat(yaml)
          .containsExactlyInAnyOrderElementsOf(files().map(a -> (String) a.get()[0]).toList());
    }
  }
}
