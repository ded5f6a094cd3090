package io.porin.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LabSpecTest {

  @Test
  void addressPlanFollowsTheClusterId() {
    LabSpec s = new LabSpec("demo", 3, 7, "10.200.0.0/16", null);
    assertThat(s.cpNetns()).isEqualTo("demo-cp");
    assertThat(s.nodeName(2)).isEqualTo("demo-node2");
    assertThat(s.cpAddress4()).isEqualTo("172.30.7.1");
    assertThat(s.nodeAddress4(3)).isEqualTo("172.30.7.13");
    assertThat(s.cpAddress6()).isEqualTo("fd00:ac1e:7::1");
    assertThat(s.nodeAddress6(1)).isEqualTo("fd00:ac1e:7::b");
    assertThat(s.podCidr6()).isEqualTo("fd00:200:7::/104");
    assertThat(new LabSpec("demo", 3, 7, "10.200.0.0/16", "fd00:1::/104").podCidr6())
        .isEqualTo("fd00:1::/104");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "Demo|3|1|10.200.0.0/16|--name: \"Demo\" is not a lab name",
        "my-lab|3|1|10.200.0.0/16|--name: \"my-lab\" is not a lab name",
        "abcdefghijklmnopq|3|1|10.200.0.0/16|--name: \"abcdefghijklmnopq\"",
        "lab|0|1|10.200.0.0/16|--nodes: 0 is not between 1 and 16",
        "lab|17|1|10.200.0.0/16|--nodes: 17 is not between 1 and 16",
        "lab|3|0|10.200.0.0/16|--cluster-id: 0 is not between 1 and 255",
        "lab|3|256|10.200.0.0/16|--cluster-id: 256 is not between 1 and 255",
        "lab|3|1|10.200.0.0|--pod-cidr: \"10.200.0.0\" is not an IPv4 CIDR",
        "lab|3|1|10.300.0.0/16|--pod-cidr: \"10.300.0.0/16\" is not an IPv4 CIDR",
        "lab|3|1|10.200.0.0/25|--pod-cidr: /25 in \"10.200.0.0/25\"",
        "lab|3|1|10.200.1.0/16|--pod-cidr: \"10.200.1.0/16\" has host bits set",
        "lab|3|1|10.200.0.0/23|--pod-cidr: \"10.200.0.0/23\" holds 2 node /24s, not 3",
        "lab|3|1|172.30.0.0/16|overlaps the lab's underlay 172.30.1.0/24",
      })
  void badInputNamesTheFlagAndTheValue(
      String name, int nodes, int clusterId, String cidr, String message) {
    assertThatThrownBy(() -> new LabSpec(name, nodes, clusterId, cidr, null))
        .isInstanceOf(LabException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aPodCidrBesideTheUnderlayIsFine() {
    assertThat(new LabSpec("lab", 2, 1, "172.30.2.0/23", null).podCidr())
        .isEqualTo("172.30.2.0/23");
  }
}
