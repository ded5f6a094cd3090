package io.porin.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PodSpecTest {

  @Test
  void readsLabelsNodeAndPortsByProtocol() {
    var p =
        PodRuntime.PodSpec.fromJson(
            """
            {"apiVersion":"v1","kind":"Pod",
             "metadata":{"name":"a","namespace":"x","labels":{"pod":"a","tier":"web"}},
             "spec":{"nodeName":"lab-node2","containers":[
               {"name":"c1","ports":[{"containerPort":80},{"containerPort":80,"protocol":"UDP"}]},
               {"name":"c2","ports":[{"containerPort":81,"protocol":"TCP"},{"containerPort":80},
                                     {"containerPort":9,"protocol":"SCTP"}]}]}}
            """);
    assertThat(p.key()).isEqualTo("x/a");
    assertThat(p.labels()).isEqualTo(Map.of("pod", "a", "tier", "web"));
    assertThat(p.nodeName()).isEqualTo("lab-node2");
    assertThat(p.tcp()).isEqualTo(List.of(80, 81));
    assertThat(p.udp()).isEqualTo(List.of(80));
  }

  @Test
  void noNamespaceMeansDefaultAndNoNodeMeansScheduled() {
    var p = PodRuntime.PodSpec.fromJson("{\"metadata\":{\"name\":\"solo\"},\"spec\":{}}");
    assertThat(p.key()).isEqualTo("default/solo");
    assertThat(p.nodeName()).isEmpty();
    assertThat(p.tcp()).isEmpty();
  }

  @Test
  void aPortThatIsNotAPortIsNamed() {
    assertThatThrownBy(
            () ->
                PodRuntime.PodSpec.fromJson(
                    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},\"spec\":{\"containers\":"
                        + "[{\"ports\":[{\"containerPort\":70000}]}]}}"))
        .isInstanceOf(LabException.class)
        .hasMessageContaining(
            "Pod n/p: spec.containers[0].ports[0].containerPort: 70000 is not a port");
  }
}
