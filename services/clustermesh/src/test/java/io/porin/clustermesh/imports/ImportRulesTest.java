package io.porin.clustermesh.imports;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What a peer ("west", cluster ID 2) may send, record by record. */
class ImportRulesTest {
  static final String OWN = "k8s:app=api;k8s:io.cilium.k8s.policy.cluster=west;";

  @ParameterizedTest(name = "{0} -> {2}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          endpoints/n1/10.201.0.5          | {}                                               | believed
          nodes/n1                         | {}                                               | believed
          services/demo/api                | {}                                               | believed
          identities/id/131372             | OWN                                              | believed
          resources/pods/demo/a            | {}                                               | not a key a cluster exports
          ca/revoked/node/n1               | {}                                               | not a key a cluster exports
          audit/policy/1-1                 | {}                                               | not a key a cluster exports
          identities/value/x               | {}                                               | not a key a cluster exports
          endpoints/../resources/x         | {}                                               | not a key a cluster exports
          nodes/                           | {}                                               | not a key a cluster exports
          identities/id/65836              | OWN                                              | is of cluster ID 1, not of cluster west (ID 2)
          identities/id/+131372            | OWN                                              | is not a cluster identity
          identities/id/0131372            | OWN                                              | is not a cluster identity
          identities/id/-1                 | OWN                                              | is not a cluster identity
          identities/id/16777472           | OWN                                              | is not a cluster identity
          identities/id/131079             | OWN                                              | is a reserved number
          identities/id/x                  | OWN                                              | is not a number
          identities/id/131372             | k8s:app=api;k8s:io.cilium.k8s.policy.cluster=east; | labels name cluster "east"
          identities/id/131372             | k8s:app=api;                                     | labels name cluster ""
          identities/id/131372             | reserved:host;k8s:io.cilium.k8s.policy.cluster=west; | reserved labels
          """)
  void eachRecord(String key, String value, String outcome) {
    String v = value.equals("OWN") ? OWN : value;
    String why = ImportRules.refusal("west", 2, key, v);
    if (outcome.equals("believed")) {
      assertThat(why).as(key).isNull();
    } else {
      assertThat(why).as(key).contains(outcome);
    }
  }

  @org.junit.jupiter.api.Test
  void aHugeValueIsRefused() {
    assertThat(ImportRules.refusal("west", 2, "nodes/n1", "x".repeat(600 * 1024)))
        .contains("more than");
    assertThat(ImportRules.deleteRefusal("resources/pods/a/b")).isNotNull();
    assertThat(ImportRules.deleteRefusal("endpoints/n1/10.201.0.5")).isNull();
  }

  @org.junit.jupiter.api.Test
  void sizesAreCountedInBytesAsEtcdStoresThem() {
    // 200k characters of three bytes each: 600 KiB in etcd, though fewer characters than the limit
    String wide = "€".repeat(200 * 1024);
    assertThat(ImportRules.refusal("west", 2, "nodes/n1", wide)).contains("614400 bytes");
    for (String s : new String[] {"", "a", "é", "€", "😀", "a€😀é"}) {
      assertThat(ImportRules.bytes(s))
          .as(s)
          .isEqualTo(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    }
  }
}
