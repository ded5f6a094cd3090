package io.porin.agent.flow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.api.hubble.flow.DropReason;
import io.porin.api.hubble.flow.EventTypeFilter;
import io.porin.api.hubble.flow.Flow;
import io.porin.api.hubble.flow.FlowFilter;
import io.porin.api.hubble.flow.IPVersion;
import io.porin.api.hubble.flow.TCPFlags;
import io.porin.api.hubble.flow.TrafficDirection;
import io.porin.api.hubble.flow.Verdict;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Filter semantics as a table: five flows (allowed, default deny, explicit deny, audit, malformed)
 * and, for each filter, the set of flows it selects.
 */
class FlowFiltersTest {
  static final Map<String, Flow> FLOWS = new LinkedHashMap<>();

  static {
    FlowFixtures fx = new FlowFixtures();
    FLOWS.put("allowed", fx.builder.build(fx.allowed(0), 1));
    FLOWS.put("default", fx.builder.build(fx.defaultDenied(0), 2));
    FLOWS.put("deny", fx.builder.build(fx.explicitlyDenied(0), 3));
    FLOWS.put("audit", fx.builder.build(fx.audited(0), 4));
    FLOWS.put("malformed", fx.builder.build(fx.malformed(0), 5));
  }

  static FlowFilter.Builder f() {
    return FlowFilter.newBuilder();
  }

  static Arguments row(
      String name, List<FlowFilter> white, List<FlowFilter> black, String... selected) {
    return Arguments.of(name, white, black, new TreeSet<>(List.of(selected)));
  }

  static Stream<Arguments> table() {
    return Stream.of(
        row("no filter", List.of(), List.of(), "allowed", "default", "deny", "audit", "malformed"),
        row(
            "verdict DROPPED",
            List.of(f().addVerdict(Verdict.DROPPED).build()),
            List.of(),
            "default",
            "deny",
            "malformed"),
        row(
            "verdict FORWARDED or AUDIT (OR within a field)",
            List.of(f().addVerdict(Verdict.FORWARDED).addVerdict(Verdict.AUDIT).build()),
            List.of(),
            "allowed",
            "audit"),
        row(
            "dropped by policy (verdict AND reason)",
            List.of(
                f().addVerdict(Verdict.DROPPED)
                    .addDropReasonDesc(DropReason.POLICY_DENIED)
                    .addDropReasonDesc(DropReason.POLICY_DENY)
                    .build()),
            List.of(),
            "default",
            "deny"),
        row(
            "source pod demo/frontend",
            List.of(f().addSourcePod("demo/frontend").build()),
            List.of(),
            "allowed",
            "default"),
        row(
            "source pod prefix demo/fr",
            List.of(f().addSourcePod("demo/fr").build()),
            List.of(),
            "allowed",
            "default"),
        row(
            "source namespace demo/",
            List.of(f().addSourcePod("demo/").build()),
            List.of(),
            "allowed",
            "default",
            "deny"),
        row(
            "pod in another namespace",
            List.of(f().addSourcePod("other/frontend").build()),
            List.of()),
        row(
            "a bare pod name is in namespace default (as Hubble's)",
            List.of(f().addDestinationPod("db").build()),
            List.of()),
        row(
            "/db: pods named db* in every namespace",
            List.of(f().addDestinationPod("/db").build()),
            List.of(),
            "default",
            "deny"),
        row(
            "/d: a prefix in every namespace",
            List.of(f().addDestinationPod("/d").build()),
            List.of(),
            "default",
            "deny"),
        row(
            "from frontend OR to api (two filters)",
            List.of(
                f().addSourcePod("demo/frontend").build(),
                f().addDestinationPod("demo/api").build()),
            List.of(),
            "allowed",
            "default",
            "audit",
            "malformed"),
        row(
            "from frontend AND to api (one filter)",
            List.of(f().addSourcePod("demo/frontend").addDestinationPod("demo/api").build()),
            List.of(),
            "allowed"),
        row(
            "blacklist wins",
            List.of(f().addSourcePod("demo/").build()),
            List.of(f().addVerdict(Verdict.DROPPED).build()),
            "allowed"),
        row(
            "blacklist alone",
            List.of(),
            List.of(f().addSourcePod("demo/frontend").build()),
            "deny",
            "audit",
            "malformed"),
        row(
            "source label app=frontend",
            List.of(f().addSourceLabel("app=frontend").build()),
            List.of(),
            "allowed",
            "default"),
        row(
            "source label with source k8s:app=api",
            List.of(f().addSourceLabel("k8s:app=api").build()),
            List.of(),
            "deny"),
        row(
            "label set: tier in (web,backend)",
            List.of(f().addSourceLabel("tier in (web,backend)").build()),
            List.of(),
            "allowed",
            "default",
            "deny"),
        row(
            "label notin",
            List.of(f().addSourceLabel("tier notin (web)").build()),
            List.of(),
            "deny",
            "audit",
            "malformed"),
        row(
            "label exists and != (AND within a selector)",
            List.of(f().addSourceLabel("tier,app!=api").build()),
            List.of(),
            "allowed",
            "default"),
        row(
            "label !tier",
            List.of(f().addSourceLabel("!tier").build()),
            List.of(),
            "audit",
            "malformed"),
        row(
            "reserved:world",
            List.of(f().addSourceLabel("reserved:world").build()),
            List.of(),
            "audit",
            "malformed"),
        row(
            "destination identity",
            List.of(f().addDestinationIdentity(FlowFixtures.DB).build()),
            List.of(),
            "default",
            "deny"),
        row(
            "source identity world",
            List.of(f().addSourceIdentity(2).build()),
            List.of(),
            "audit",
            "malformed"),
        row(
            "destination IP",
            List.of(f().addDestinationIp("10.200.1.2").build()),
            List.of(),
            "default",
            "deny"),
        row(
            "destination CIDR",
            List.of(f().addDestinationIp("10.200.0.0/24").build()),
            List.of(),
            "allowed",
            "audit",
            "malformed"),
        row(
            "source CIDR /0 of the other family",
            List.of(f().addSourceIp("::/0").build()),
            List.of()),
        row("protocol udp", List.of(f().addProtocol("udp").build()), List.of(), "deny"),
        row(
            "protocol TCP (any case)",
            List.of(f().addProtocol("TCP").build()),
            List.of(),
            "allowed",
            "default",
            "audit",
            "malformed"),
        row(
            "destination port 5432",
            List.of(f().addDestinationPort("5432").build()),
            List.of(),
            "default",
            "deny"),
        row("source port 46532", List.of(f().addSourcePort("46532").build()), List.of(), "allowed"),
        row(
            "destination port 0 matches nothing",
            List.of(f().addDestinationPort("0").build()),
            List.of()),
        row(
            "ingress",
            List.of(f().addTrafficDirection(TrafficDirection.INGRESS).build()),
            List.of(),
            "audit",
            "malformed"),
        row(
            "event type policy-verdict",
            List.of(f().addEventType(EventTypeFilter.newBuilder().setType(5)).build()),
            List.of(),
            "allowed",
            "default",
            "deny",
            "audit"),
        row(
            "event type drop:135",
            List.of(
                f().addEventType(
                        EventTypeFilter.newBuilder()
                            .setType(1)
                            .setMatchSubType(true)
                            .setSubType(135))
                    .build()),
            List.of(),
            "malformed"),
        row(
            "event type drop:133 (none)",
            List.of(
                f().addEventType(
                        EventTypeFilter.newBuilder()
                            .setType(1)
                            .setMatchSubType(true)
                            .setSubType(133))
                    .build()),
            List.of()),
        row(
            "TCP flag SYN",
            List.of(f().addTcpFlags(TCPFlags.newBuilder().setSYN(true)).build()),
            List.of(),
            "allowed",
            "default",
            "audit"),
        row(
            "TCP flags SYN+ACK",
            List.of(f().addTcpFlags(TCPFlags.newBuilder().setSYN(true).setACK(true)).build()),
            List.of()),
        row(
            "reply false",
            List.of(f().addReply(false).build()),
            List.of(),
            "allowed",
            "default",
            "deny",
            "audit",
            "malformed"),
        row("reply true", List.of(f().addReply(true).build()), List.of()),
        row(
            "node pattern node-*",
            List.of(f().addNodeName("node-*").build()),
            List.of(),
            "allowed",
            "default",
            "deny",
            "audit",
            "malformed"),
        row("node pattern other", List.of(f().addNodeName("lab-node*").build()), List.of()),
        row(
            "node without a cluster is in cluster default",
            List.of(f().addNodeName("default/node-1").build()),
            List.of(),
            "allowed",
            "default",
            "deny",
            "audit",
            "malformed"),
        row(
            "default/: every node of cluster default",
            List.of(f().addNodeName("default/").build()),
            List.of(),
            "allowed",
            "default",
            "deny",
            "audit",
            "malformed"),
        row("another cluster's node", List.of(f().addNodeName("east/node-1").build()), List.of()),
        row("node-2 only", List.of(f().addNodeName("node-2").build()), List.of()),
        row("IPv6 only", List.of(f().addIpVersion(IPVersion.IPv6).build()), List.of()),
        row("uuid", List.of(f().addUuid(FLOWS.get("deny").getUuid()).build()), List.of(), "deny"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void selects(String name, List<FlowFilter> white, List<FlowFilter> black, Set<String> expected) {
    FlowFilters filters = new FlowFilters(white, black);
    Set<String> got = new TreeSet<>();
    FLOWS.forEach(
        (k, v) -> {
          if (filters.test(v)) {
            got.add(k);
          }
        });
    assertThat(got).isEqualTo(expected);
  }

  /** Two flows as they were and as they are when they went through WireGuard (IP.encrypted). */
  static final Map<String, Flow> WIREGUARD = new LinkedHashMap<>();

  static {
    for (String k : List.of("allowed", "deny")) {
      Flow plain = FLOWS.get(k);
      WIREGUARD.put(k, plain);
      WIREGUARD.put(
          k + " encrypted",
          plain.toBuilder().setIP(plain.getIP().toBuilder().setEncrypted(true)).build());
    }
  }

  static Stream<Arguments> encryptedTable() {
    return Stream.of(
        row(
            "no filter",
            List.of(),
            List.of(),
            "allowed",
            "allowed encrypted",
            "deny",
            "deny encrypted"),
        row(
            "encrypted true",
            List.of(f().addEncrypted(true).build()),
            List.of(),
            "allowed encrypted",
            "deny encrypted"),
        row(
            "encrypted false",
            List.of(f().addEncrypted(false).build()),
            List.of(),
            "allowed",
            "deny"),
        row(
            "encrypted true or false (OR within a field)",
            List.of(f().addEncrypted(true).addEncrypted(false).build()),
            List.of(),
            "allowed",
            "allowed encrypted",
            "deny",
            "deny encrypted"),
        row(
            "encrypted AND forwarded",
            List.of(f().addEncrypted(true).addVerdict(Verdict.FORWARDED).build()),
            List.of(),
            "allowed encrypted"),
        row(
            "encrypted OR dropped (two filters)",
            List.of(f().addEncrypted(true).build(), f().addVerdict(Verdict.DROPPED).build()),
            List.of(),
            "allowed encrypted",
            "deny",
            "deny encrypted"),
        row(
            "blacklist encrypted",
            List.of(),
            List.of(f().addEncrypted(true).build()),
            "allowed",
            "deny"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("encryptedTable")
  void selectsByEncryption(
      String name, List<FlowFilter> white, List<FlowFilter> black, Set<String> expected) {
    FlowFilters filters = new FlowFilters(white, black);
    Set<String> got = new TreeSet<>();
    WIREGUARD.forEach(
        (k, v) -> {
          if (filters.test(v)) {
            got.add(k);
          }
        });
    assertThat(got).isEqualTo(expected);
  }

  @org.junit.jupiter.api.Test
  void badFiltersNameTheFieldAndTheValue() {
    assertThatThrownBy(
            () -> new FlowFilters(List.of(f().addSourceIp("10.0.0.300").build()), List.of()))
        .hasMessage("source_ip: \"10.0.0.300\" is not an IP address or CIDR");
    assertThatThrownBy(
            () -> new FlowFilters(List.of(f().addDestinationPort("http").build()), List.of()))
        .hasMessage("destination_port: \"http\" is not a port");
    assertThatThrownBy(() -> new FlowFilters(List.of(), List.of(f().addProtocol("gre").build())))
        .hasMessageStartingWith("protocol: \"gre\" is not one of");
    assertThatThrownBy(
            () -> new FlowFilters(List.of(f().addSourceLabel("app in (a").build()), List.of()))
        .hasMessageStartingWith("source_label: \"app in (a\" is not a label selector");
    assertThatThrownBy(() -> new FlowFilters(List.of(f().addSourcePod("").build()), List.of()))
        .hasMessage("source_pod: invalid filter, must be [namespace/][<name>], got \"\"");
    assertThatThrownBy(
            () -> new FlowFilters(List.of(), List.of(f().addDestinationPod("/").build())))
        .hasMessage("destination_pod: invalid filter, must be [namespace/][<name>], got \"/\"");
    assertThatThrownBy(() -> new FlowFilters(List.of(f().addNodeName("a/b/c").build()), List.of()))
        .hasMessageContaining("too many slashes");
    assertThatThrownBy(() -> new FlowFilters(List.of(f().addNodeName("").build()), List.of()))
        .hasMessage("node_name: empty pattern");
    assertThatThrownBy(() -> new FlowFilters(List.of(f().addNodeName("node?").build()), List.of()))
        .hasMessageContaining("'?': invalid rune in pattern");
  }

  /** The blacklist porin observe sends unless --all (ObserveFilters.linkNoise in the CLI). */
  @Test
  void aBlacklistOfIcmpv6ToMulticastOrFromLinkLocalLeavesOutNdAndMldButNotPing6() {
    List<FlowFilter> noise =
        List.of(
            f().addProtocol("icmpv6").addDestinationIp("ff00::/8").build(),
            f().addProtocol("icmpv6").addSourceIp("fe80::/10").build());
    FlowFilters filters = new FlowFilters(List.of(), noise);
    assertThat(filters.test(icmp6("fe80::1", "ff02::16", 143))).as("MLDv2 report").isFalse();
    assertThat(filters.test(icmp6("fe80::1", "ff02::1:ff00:2", 135)))
        .as("neighbour solicitation")
        .isFalse();
    assertThat(filters.test(icmp6("fe80::2", "fe80::1", 136))).as("neighbour advert").isFalse();
    assertThat(filters.test(icmp6("fd00::a", "fd00::b", 128))).as("ping6 between pods").isTrue();
    assertThat(filters.test(FLOWS.get("allowed"))).as("TCP").isTrue();
  }

  static Flow icmp6(String src, String dst, int type) {
    return Flow.newBuilder()
        .setIP(
            io.porin
                .api
                .hubble
                .flow
                .IP
                .newBuilder()
                .setSource(src)
                .setDestination(dst)
                .setIpVersion(IPVersion.IPv6))
        .setL4(
            io.porin.api.hubble.flow.Layer4.newBuilder()
                .setICMPv6(io.porin.api.hubble.flow.ICMPv6.newBuilder().setType(type)))
        .build();
  }

  @Test
  void serviceFiltersMatchNamespaceAndNamePrefixAsPodFiltersDo() {
    Flow toApi =
        Flow.newBuilder()
            .setDestinationService(
                io.porin.api.hubble.flow.Service.newBuilder().setNamespace("demo").setName("api"))
            .build();
    Flow plain = Flow.newBuilder().build();
    for (String yes : List.of("demo/api", "/api", "demo/", "demo/a", "/a")) {
      FlowFilter ff = FlowFilter.newBuilder().addDestinationService(yes).build();
      assertThat(FlowFilters.matches(ff, toApi)).as(yes).isTrue();
      assertThat(FlowFilters.matches(ff, plain)).as(yes + " on a flow to no service").isFalse();
    }
    // a bare name is a service of namespace default, as Hubble reads it
    for (String no : List.of("demo/db", "db", "other/", "api", "/b")) {
      assertThat(
              FlowFilters.matches(FlowFilter.newBuilder().addDestinationService(no).build(), toApi))
          .as(no)
          .isFalse();
    }
    assertThat(FlowFilters.matches(FlowFilter.newBuilder().addSourceService("api").build(), toApi))
        .isFalse();
  }
}
