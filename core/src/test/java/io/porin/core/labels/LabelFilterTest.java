package io.porin.core.labels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LabelFilterTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          k8s:app=web                                                        | true
          k8s:tier=backend                                                   | true
          reserved:host                                                      | true
          k8s:io.kubernetes.pod.namespace=demo                               | true
          k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=demo | true
          k8s:io.cilium.k8s.namespace.labels.team=payments                   | true
          k8s:app.kubernetes.io/name=db                                      | true
          k8s:io.cilium.k8s.policy.cluster=c1                                | true
          k8s:io.cilium.k8s.policy.serviceaccount=api                        | true
          k8s:pod-template-hash=7d9c5b                                       | false
          k8s:controller-revision-hash=abc                                   | false
          k8s:controller-uid=1234                                            | false
          k8s:job-name=backup-28391                                          | false
          k8s:batch.kubernetes.io/job-name=backup                            | false
          k8s:batch.kubernetes.io/controller-uid=1234                        | false
          k8s:statefulset.kubernetes.io/pod-name=db-0                        | false
          k8s:apps.kubernetes.io/pod-index=0                                 | false
          k8s:pod-template-generation=3                                      | false
          k8s:annotation.kubernetes.io/config.seen=x                         | false
          k8s:io.kubernetes.pod.uid=abc                                      | false
          k8s:io.kubernetes.pod.name=web-1                                   | false
          k8s:kubernetes.io/hostname=node1                                   | false
          k8s:beta.kubernetes.io/arch=amd64                                  | false
          k8s:topology.kubernetes.io/zone=a                                  | false
          k8s:etcd_node=etcd-0                                               | false
          """)
  void defaultsKeepStableLabelsAndDropChurningOnes(String label, boolean formsIdentity) {
    assertThat(LabelFilter.defaults().formsIdentity(Label.parse(label))).isEqualTo(formsIdentity);
  }

  @Test
  void aUserIncludeSwitchesToWhitelistMode() {
    LabelFilter f = LabelFilter.configured(List.of("k8s:app", "k8s:!app.internal"));
    assertThat(f.formsIdentity(Label.parse("k8s:app=web"))).isTrue();
    assertThat(f.formsIdentity(Label.parse("k8s:tier=web"))).isFalse();
    // Namespace and reserved labels still count: they are default includes.
    assertThat(f.formsIdentity(Label.parse("k8s:io.kubernetes.pod.namespace=demo"))).isTrue();
    assertThat(f.formsIdentity(Label.parse("reserved:host"))).isTrue();
    // The include "app" (3 chars) is shorter than the ignore "app.internal" (12).
    assertThat(f.formsIdentity(Label.parse("k8s:app.internal/x=1"))).isFalse();
    // The source limits the prefix: an unspec "app" label matches no include.
    assertThat(f.formsIdentity(Label.parse("app=web"))).isFalse();
  }

  @Test
  void aUserIgnoreKeepsBlacklistMode() {
    LabelFilter f = LabelFilter.configured(List.of("!build-id"));
    assertThat(f.formsIdentity(Label.parse("k8s:build-id=42"))).isFalse();
    assertThat(f.formsIdentity(Label.parse("k8s:tier=web"))).isTrue();
  }

  @Test
  void filterSplitsIdentityFromInformation() {
    LabelSet all =
        LabelSet.parse(
            List.of(
                "k8s:app=web", "k8s:pod-template-hash=abc", "k8s:io.kubernetes.pod.namespace=d"));
    LabelFilter.Result r = LabelFilter.defaults().filter(all);
    assertThat(r.identityLabels().strings())
        .containsExactly("k8s:app=web", "k8s:io.kubernetes.pod.namespace=d");
    assertThat(r.informationLabels().strings()).containsExactly("k8s:pod-template-hash=abc");
  }

  @Test
  void badPrefixesAreNamed() {
    assertThatThrownBy(() -> LabelFilter.configured(List.of("k8s:app[")))
        .hasMessageContaining("label prefix \"k8s:app[\"");
    assertThatThrownBy(() -> LabelFilter.configured(List.of("nope:app")))
        .hasMessageContaining("unknown source \"nope\"");
    assertThatThrownBy(() -> LabelFilter.configured(List.of("k8s:!")))
        .hasMessageContaining("the prefix is empty");
  }
}
