package io.porin.cli.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.api.hubble.flow.DropReason;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

class ObserveFiltersTest {
  static ObserveFilters.Flags flags(
      List<String> verdicts,
      List<String> namespaces,
      List<String> pods,
      List<String> fromPods,
      List<String> toPods,
      List<Integer> ports,
      List<Integer> toPorts,
      List<String> types) {
    return new ObserveFilters.Flags(
        verdicts,
        namespaces,
        pods,
        fromPods,
        toPods,
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        ports,
        List.of(),
        toPorts,
        types,
        List.of(),
        List.of(),
        List.of());
  }

  @Test
  void ipv6LinkChatterIsLeftOutUnlessAll() {
    ObserveCommand c = new ObserveCommand();
    assertThat(c.request().getBlacklistList()).isEqualTo(ObserveFilters.linkNoise());
    assertThat(ObserveFilters.linkNoise())
        .allMatch(f -> f.getProtocolList().equals(List.of("icmpv6")))
        .anyMatch(f -> f.getDestinationIpList().equals(List.of("ff00::/8")))
        .anyMatch(f -> f.getSourceIpList().equals(List.of("fe80::/10")));
    c.all = true;
    assertThat(c.request().getBlacklistList()).isEmpty();
  }

  @Test
  void clusterNarrowsEitherSideLabelsToThatCluster() {
    String west = "k8s:io.cilium.k8s.policy.cluster=west";
    assertThat(ObserveFilters.inCluster(List.of(), null)).isEmpty();
    assertThat(ObserveFilters.inCluster(List.of("app=api"), null)).containsExactly("app=api");
    assertThat(ObserveFilters.inCluster(List.of(), "west")).containsExactly(west);
    assertThat(ObserveFilters.inCluster(List.of("app=api", "app=db"), "west"))
        .containsExactly("app=api," + west, "app=db," + west);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ObserveFilters.inCluster(List.of(), "a=b"))
        .hasMessageContaining("--cluster")
        .hasMessageContaining("a=b");
  }

  @Test
  void noFlagsNoFilter() {
    assertThat(
            ObserveFilters.of(
                flags(
                    List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
                    List.of())))
        .isEmpty();
  }

  @Test
  void eitherSideFlagsMakeTwoFilters() {
    List<FlowFilter> f =
        ObserveFilters.of(
            flags(
                List.of(),
                List.of("demo"),
                List.of("api"),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of()));
    assertThat(f)
        .containsExactly(
            FlowFilter.newBuilder().addSourcePod("demo/api").build(),
            FlowFilter.newBuilder().addDestinationPod("demo/api").build());
    List<FlowFilter> ns =
        ObserveFilters.of(
            flags(
                List.of(),
                List.of("demo"),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of()));
    assertThat(ns)
        .containsExactly(
            FlowFilter.newBuilder().addSourcePod("demo/").build(),
            FlowFilter.newBuilder().addDestinationPod("demo/").build());
  }

  @Test
  void fromAndToGoIntoOneFilterWithTheSidelessFlags() {
    List<FlowFilter> f =
        ObserveFilters.of(
            flags(
                List.of("FORWARDED"),
                List.of("demo"),
                List.of(),
                List.of("frontend"),
                List.of("demo/db"),
                List.of(),
                List.of(5432),
                List.of("policy-verdict")));
    assertThat(f).hasSize(1);
    assertThat(f.getFirst().getSourcePodList()).containsExactly("demo/frontend");
    assertThat(f.getFirst().getDestinationPodList()).containsExactly("demo/db");
    assertThat(f.getFirst().getDestinationPortList()).containsExactly("5432");
    assertThat(f.getFirst().getVerdictList()).containsExactly(Verdict.FORWARDED);
    assertThat(f.getFirst().getEventType(0).getType()).isEqualTo(5);
  }

  @Test
  void deniedMeansDroppedByPolicyAndCombinesWithOtherVerdictsAsOr() {
    List<FlowFilter> f =
        ObserveFilters.of(
            flags(
                List.of("denied", "AUDIT"),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of()));
    assertThat(f)
        .containsExactly(
            FlowFilter.newBuilder().addVerdict(Verdict.AUDIT).build(),
            FlowFilter.newBuilder()
                .addVerdict(Verdict.DROPPED)
                .addDropReasonDesc(DropReason.POLICY_DENIED)
                .addDropReasonDesc(DropReason.POLICY_DENY)
                .build());
  }

  @Test
  void encryptedMeansWentThroughWireGuardAndCombinesWithEachSidedFilter() {
    List<FlowFilter> f =
        ObserveFilters.of(
            flags(
                List.of("encrypted", "DROPPED"),
                List.of("demo"),
                List.of("api"),
                List.of(),
                List.of(),
                List.of(),
                List.of(),
                List.of()));
    assertThat(f)
        .containsExactly(
            FlowFilter.newBuilder().addSourcePod("demo/api").addVerdict(Verdict.DROPPED).build(),
            FlowFilter.newBuilder().addSourcePod("demo/api").addEncrypted(true).build(),
            FlowFilter.newBuilder()
                .addDestinationPod("demo/api")
                .addVerdict(Verdict.DROPPED)
                .build(),
            FlowFilter.newBuilder().addDestinationPod("demo/api").addEncrypted(true).build());
    assertThat(
            ObserveFilters.of(
                flags(
                    List.of("ENCRYPTED"),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of())))
        .containsExactly(FlowFilter.newBuilder().addEncrypted(true).build());
  }

  @Test
  void badFlagsAreNamed() {
    assertThatThrownBy(
            () ->
                ObserveFilters.of(
                    flags(
                        List.of("MAYBE"),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of())))
        .hasMessageStartingWith("--verdict: \"MAYBE\" is not one of")
        .hasMessageContaining("DENIED, ENCRYPTED,");
    assertThatThrownBy(
            () ->
                ObserveFilters.of(
                    flags(
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(70000),
                        List.of(),
                        List.of())))
        .hasMessage("--port: 70000 is not a port");
    assertThatThrownBy(
            () ->
                ObserveFilters.of(
                    flags(
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of("l4"))))
        .hasMessageStartingWith("--type: \"l4\" is not one of");
    assertThatThrownBy(
            () ->
                ObserveFilters.of(
                    flags(
                        List.of(),
                        List.of("a", "b"),
                        List.of("x"),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of())))
        .hasMessageStartingWith("--pod: \"x\" needs its namespace");
  }

  @Test
  void toServiceIsQualifiedByTheNamespaceAndCheckedForShape() {
    ObserveFilters.Flags base =
        flags(
            List.of(),
            List.of("demo"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of());
    assertThat(
            ObserveFilters.of(withToServices(base, List.of("api")))
                .getFirst()
                .getDestinationServiceList())
        .containsExactly("demo/api");
    var bad = withToServices(base, List.of("a/b/c"));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ObserveFilters.of(bad))
        .hasMessageContaining("--to-service: \"a/b/c\"");
  }

  private static ObserveFilters.Flags withToServices(ObserveFilters.Flags f, List<String> to) {
    return new ObserveFilters.Flags(
        f.verdicts(),
        f.namespaces(),
        f.pods(),
        f.fromPods(),
        f.toPods(),
        f.labels(),
        f.fromLabels(),
        f.toLabels(),
        f.identities(),
        f.fromIdentities(),
        f.toIdentities(),
        f.protocols(),
        f.ports(),
        f.fromPorts(),
        f.toPorts(),
        f.types(),
        f.nodeNames(),
        f.fromServices(),
        to);
  }
}
