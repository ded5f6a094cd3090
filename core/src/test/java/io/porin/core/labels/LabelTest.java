package io.porin.core.labels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LabelTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          k8s:app=web                                      | K8S      | app                                  | web
          k8s:app                                          | K8S      | app                                  | ''
          app=web                                          | UNSPEC   | app                                  | web
          reserved:host                                    | RESERVED | host                                 | ''
          k8s:app.kubernetes.io/name=db                    | K8S      | app.kubernetes.io/name               | db
          k8s:io.kubernetes.pod.namespace=demo             | K8S      | io.kubernetes.pod.namespace          | demo
          k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=demo | K8S | io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name | demo
          cidr:10.0.0.0/8                                  | CIDR     | 10.0.0.0/8                           | ''
          cidr:0--1/128                                    | CIDR     | 0--1/128                             | ''
          fqdn:*.example.com                               | FQDN     | *.example.com                        | ''
          """)
  void parsesAndWritesBack(String text, LabelSource source, String key, String value) {
    Label l = Label.parse(text);
    assertThat(l).isEqualTo(new Label(source, key, value));
    String expected = text.contains(":") ? text : "unspec:" + text;
    assertThat(l.toString()).isEqualTo(expected);
    assertThat(Label.parse(l.toString())).isEqualTo(l);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          ''                              | the label is empty
          foo:app=web                     | unknown label source "foo"
          k8s:=web                        | the key is empty
          k8s:-app=web                    | must be alphanumerics
          k8s:Example.com/app=web         | is not a lowercase DNS subdomain
          k8s:/app=web                    | the key prefix must be 1 to 253
          k8s:app=we b                    | must be alphanumerics
          k8s:app=web-                    | must be alphanumerics
          k8s:app=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | longer than 63
          k8s:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=x | 1 to 63 characters
          reserved:                       | the key is empty
          cidr:10.0.0.0/8;x               | may not contain
          """)
  void rejectsWhatKubernetesWouldReject(String text, String problem) {
    assertThatThrownBy(() -> Label.parse(text))
        .isInstanceOf(InvalidLabelException.class)
        .hasMessageContaining("label \"")
        .hasMessageContaining(problem);
  }

  @Test
  void errorCarriesTheLabelAsWritten() {
    assertThatThrownBy(() -> Label.parse("k8s:app=-bad"))
        .isInstanceOfSatisfying(
            InvalidLabelException.class, e -> assertThat(e.label()).isEqualTo("k8s:app=-bad"));
  }
}
