package io.porin.core.labels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LabelSetTest {

  private static final List<String> LABELS =
      List.of(
          "k8s:io.kubernetes.pod.namespace=demo",
          "k8s:app=frontend",
          "k8s:tier=web",
          "reserved:host",
          "app=frontend",
          "k8s:app.kubernetes.io/name=frontend");

  @Test
  void canonicalFormDoesNotDependOnOrder() {
    String first = LabelSet.parse(LABELS).canonical();
    Random random = new Random(7);
    for (int i = 0; i < 50; i++) {
      List<String> shuffled = new ArrayList<>(LABELS);
      Collections.shuffle(shuffled, random);
      assertThat(LabelSet.parse(shuffled).canonical()).isEqualTo(first);
    }
  }

  @Test
  void canonicalFormIsSortedByKeyThenSource() {
    assertThat(LabelSet.parse(LABELS).canonical())
        .isEqualTo(
            "k8s:app=frontend;unspec:app=frontend;k8s:app.kubernetes.io/name=frontend;"
                + "reserved:host;k8s:io.kubernetes.pod.namespace=demo;k8s:tier=web;");
  }

  @Test
  void canonicalFormParsesBack() {
    LabelSet set = LabelSet.parse(LABELS);
    assertThat(LabelSet.parseCanonical(set.canonical())).isEqualTo(set);
    assertThat(LabelSet.parseCanonical("")).isEqualTo(LabelSet.empty());
  }

  @Test
  void stableHashIsFixedAcrossReleases() {
    // Golden value: the first 8 bytes of SHA-256("k8s:app=web;"). Changing it re-keys every
    // identity in every cluster.
    assertThat(LabelSet.parse(List.of("k8s:app=web")).stableHash()).isEqualTo(0xd7733133299d1e28L);
  }

  @Test
  void duplicatesCollapseAndConflictsAreRefused() {
    assertThat(LabelSet.parse(List.of("k8s:app=a", "k8s:app=a")).size()).isEqualTo(1);
    assertThat(LabelSet.parse(List.of("k8s:app=a", "unspec:app=b")).size()).isEqualTo(2);
    assertThatThrownBy(() -> LabelSet.parse(List.of("k8s:app=a", "k8s:app=b")))
        .isInstanceOf(InvalidLabelException.class)
        .hasMessageContaining("k8s:app=b")
        .hasMessageContaining("conflicts with \"k8s:app=a\"");
  }

  @Test
  void knowsReservedLabels() {
    assertThat(LabelSet.parse(List.of("reserved:world")).hasReserved()).isTrue();
    assertThat(LabelSet.parse(List.of("k8s:app=a")).hasReserved()).isFalse();
    assertThat(LabelSet.parse(List.of("k8s:app=a")).get(LabelSource.K8S, "app"))
        .contains(Label.k8s("app", "a"));
  }
}
