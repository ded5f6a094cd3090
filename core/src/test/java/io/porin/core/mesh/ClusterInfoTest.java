package io.porin.core.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.ipam.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClusterInfoTest {

  /** An independent reading of Cilium's rule, character by character (no regular expression). */
  static boolean referenceValid(String name) {
    if (name.isEmpty() || name.length() > 32 || name.equals("default")) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      boolean edge = i == 0 || i == name.length() - 1;
      if (!(alnum || (c == '-' && !edge))) {
        return false;
      }
    }
    return true;
  }

  @ParameterizedTest(name = "\"{0}\" valid: {1}")
  @CsvSource(
      delimiter = '|',
      emptyValue = "",
      textBlock =
          """
          east                                  | true
          us-west-2                             | true
          a                                     | true
          0                                     | true
          a-b-c-1                               | true
          abcdefghijklmnopqrstuvwxyz012345      | true
          abcdefghijklmnopqrstuvwxyz0123456     | false
          default                               | false
          default-2                             | true
          East                                  | false
          -east                                 | false
          east-                                 | false
          ea_st                                 | false
          ea.st                                 | false
          'ea st'                               | false
          ''                                    | false
          é                                     | false
          """)
  void namesAsCiliumChecksThem(String name, boolean valid) {
    assertThat(ClusterInfo.nameProblems(name).isEmpty()).as(name).isEqualTo(valid);
    assertThat(referenceValid(name)).as("the reference agrees on %s", name).isEqualTo(valid);
  }

  @Test
  void everyShortNameAgreesWithTheReference() {
    // every name of up to three characters over an alphabet with each kind of character
    String alphabet = "a9-_A.";
    List<String> names = new java.util.ArrayList<>(List.of(""));
    for (int len = 1; len <= 3; len++) {
      List<String> next = new java.util.ArrayList<>();
      for (String n : names) {
        if (n.length() == len - 1) {
          for (char c : alphabet.toCharArray()) {
            next.add(n + c);
          }
        }
      }
      names.addAll(next);
    }
    for (String n : names) {
      assertThat(ClusterInfo.nameProblems(n).isEmpty())
          .as("\"%s\"", n)
          .isEqualTo(referenceValid(n));
    }
  }

  @Test
  void problemsNameTheFieldAndTheValue() {
    ClusterInfo bad = new ClusterInfo("East", 0, List.of());
    assertThat(bad.problems())
        .anySatisfy(p -> assertThat(p).startsWith("cluster name: \"East\""))
        .anySatisfy(p -> assertThat(p).isEqualTo("cluster ID: 0 is outside 1..255"));
    assertThat(new ClusterInfo("east", 256, List.of()).problems())
        .containsExactly("cluster ID: 256 is outside 1..255");
    assertThat(new ClusterInfo("east", 255, List.of()).problems()).isEmpty();
  }

  static ClusterInfo cluster(String name, int id, String... cidrs) {
    return new ClusterInfo(name, id, java.util.Arrays.stream(cidrs).map(Cidr::parse).toList());
  }

  @Test
  void twoGoodClustersConnect() {
    assertThat(
            ClusterInfo.conflicts(
                cluster("east", 1, "10.200.0.0/16", "fd00:200::/48"),
                cluster("west", 2, "10.201.0.0/16", "fd00:201::/48")))
        .isEmpty();
  }

  @Test
  void theSameNameOrIdIsRefusedWithBothValues() {
    assertThat(
            ClusterInfo.conflicts(
                cluster("east", 1, "10.200.0.0/16"), cluster("east", 2, "10.201.0.0/16")))
        .containsExactly(
            "both clusters are named \"east\" (IDs 1 and 2): cluster names must differ");
    assertThat(
            ClusterInfo.conflicts(
                cluster("east", 3, "10.200.0.0/16"), cluster("west", 3, "10.201.0.0/16")))
        .containsExactly(
            "clusters \"east\" and \"west\" both have cluster ID 3: cluster IDs must differ (they"
                + " are the high bits of every identity)");
  }

  @Test
  void overlappingPodCidrsAreRefusedEitherWayRound() {
    ClusterInfo east = cluster("east", 1, "10.200.0.0/16");
    for (String west : List.of("10.200.0.0/16", "10.200.7.0/24", "10.0.0.0/8")) {
      assertThat(ClusterInfo.conflicts(east, cluster("west", 2, west)))
          .as(west)
          .singleElement()
          .asString()
          .contains("10.200.0.0/16")
          .contains(west)
          .contains("overlaps");
    }
    // another family never overlaps, nor does a neighbour
    assertThat(ClusterInfo.conflicts(east, cluster("west", 2, "10.201.0.0/16", "fd00::/8")))
        .isEmpty();
  }

  @Test
  void aMemberWithoutPodCidrsIsRefused() {
    assertThat(ClusterInfo.conflicts(cluster("east", 1, "10.200.0.0/16"), cluster("west", 2)))
        .singleElement()
        .asString()
        .startsWith("cluster \"west\" (ID 2): pod CIDRs: none given");
  }

  @Test
  void anInvalidMemberIsNamedInTheConflict() {
    assertThat(
            ClusterInfo.conflicts(
                cluster("default", 1, "10.200.0.0/16"), cluster("west", 2, "10.201.0.0/16")))
        .singleElement()
        .asString()
        .startsWith("cluster \"default\" (ID 1): cluster name: \"default\"");
  }
}
