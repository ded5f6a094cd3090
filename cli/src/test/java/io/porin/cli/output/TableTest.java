package io.porin.cli.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableTest {
  @Test
  void multiLineCellsContinueWithBlankColumns() {
    StringWriter s = new StringWriter();
    new Table("ID", "LABELS")
        .row(List.of(List.of("1"), List.of("reserved:host")))
        .row(
            List.of(
                List.of("65792"), List.of("k8s:app=web", "k8s:io.kubernetes.pod.namespace=demo")))
        .print(new PrintWriter(s));
    assertThat(s.toString())
        .isEqualTo(
            """
            ID      LABELS
            1       reserved:host
            65792   k8s:app=web
                    k8s:io.kubernetes.pod.namespace=demo
            """);
  }
}
