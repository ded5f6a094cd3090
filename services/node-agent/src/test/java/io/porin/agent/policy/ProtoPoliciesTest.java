package io.porin.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.api.policy.v1.CidrClass;
import io.porin.api.policy.v1.Direction;
import io.porin.api.policy.v1.DirectionPatch;
import io.porin.api.policy.v1.DirectionPolicy;
import io.porin.api.policy.v1.IdentityPolicy;
import io.porin.api.policy.v1.IdentityPolicyPatch;
import io.porin.api.policy.v1.PolicyEntry;
import io.porin.api.policy.v1.PolicyRef;
import io.porin.api.policy.v1.RuleRef;
import io.porin.api.policy.v1.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy stream read back into core, PATCH application, and translation to map entries. */
class ProtoPoliciesTest {
  private static final PolicyRef CNP =
      PolicyRef.newBuilder()
          .setKind("CiliumNetworkPolicy")
          .setNamespace("demo")
          .setName("p")
          .build();

  private static PolicyEntry entry(int peer, int port, Verdict v) {
    return PolicyEntry.newBuilder()
        .setPeer(peer)
        .setProtocol(6)
        .setPort(port)
        .setPrefixLength(24)
        .setVerdict(v)
        .addRules(RuleRef.newBuilder().setPolicy(CNP).setSection("ingress").setIndex(0))
        .build();
  }

  private static IdentityPolicy policy(DirectionPolicy ingress) {
    return IdentityPolicy.newBuilder()
        .setIdentity(1000)
        .setIngress(ingress)
        .setEgress(DirectionPolicy.newBuilder().setDirection(Direction.EGRESS))
        .build();
  }

  @Test
  void patchReplacesExactlyThePatchedPeers() {
    IdentityPolicy old =
        policy(
            DirectionPolicy.newBuilder()
                .setDirection(Direction.INGRESS)
                .setEnforced(true)
                .setDefaultVerdict(Verdict.DENY)
                .addEntries(entry(1, 80, Verdict.ALLOW))
                .addEntries(entry(2, 80, Verdict.ALLOW))
                .addEntries(entry(2, 81, Verdict.ALLOW))
                .build());
    IdentityPolicyPatch patch =
        IdentityPolicyPatch.newBuilder()
            .setIdentity(1000)
            .setIngress(
                DirectionPatch.newBuilder()
                    .setDirection(Direction.INGRESS)
                    .setEnforced(true)
                    .setDefaultVerdict(Verdict.DENY)
                    .addReplacedPeers(2)
                    .addReplacedPeers(3)
                    .addEntries(entry(3, 443, Verdict.DENY))
                    .addCidrClasses(
                        CidrClass.newBuilder().setPrefix("10.1.0.0/16").setClassId(0x7F000001)))
            .setEgress(DirectionPatch.newBuilder().setDirection(Direction.EGRESS))
            .build();
    IdentityPolicy now = ProtoPolicies.apply(old, patch, 7);
    assertThat(now.getRevision()).isEqualTo(7);
    assertThat(now.getIngress().getEntriesList())
        .extracting(e -> e.getPeer() + ":" + e.getPort())
        .containsExactlyInAnyOrder("1:80", "3:443");
    assertThat(now.getIngress().getCidrClassesCount()).isEqualTo(1);
  }

  @Test
  void translationGivesEntriesCookiesFlagsAndDefaults() {
    IdentityPolicy p =
        policy(
            DirectionPolicy.newBuilder()
                .setDirection(Direction.INGRESS)
                .setEnforced(true)
                .setDefaultVerdict(Verdict.DENY)
                .addDefaultDenyBy(CNP)
                .addEntries(entry(1, 80, Verdict.ALLOW))
                .addEntries(entry(0, 22, Verdict.DENY))
                .addCidrClasses(
                    CidrClass.newBuilder().setPrefix("10.1.0.0/16").setClassId(0x7F000001))
                .build());
    Cookies cookies = new Cookies();
    PolicyTranslator.Translated t =
        new PolicyTranslator(cookies).translate(ProtoPolicies.toCore(p));
    assertThat(t.entries())
        .containsEntry(
            new PolicyKey(1, MapLayouts.DIR_INGRESS, 6, 80, 24),
            new PolicyValue(
                MapLayouts.POLICY_ALLOW, t.entries().get(new PolicyKey(1, 0, 6, 80, 24)).cookie()))
        .containsKey(new PolicyKey(0, MapLayouts.DIR_INGRESS, 6, 22, 24))
        .hasSize(2);
    int cookie = t.entries().get(new PolicyKey(0, 0, 6, 22, 24)).cookie();
    assertThat(cookies.resolve(cookie).orElseThrow().describe()).isEqualTo("demo/p ingress[0]");
    assertThat(cookies.resolve(t.ingressDefaultCookie()).orElseThrow().describe())
        .isEqualTo("default deny, enabled by demo/p");
    assertThat(t.flags())
        .isEqualTo(MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_CIDR_CLASSES_INGRESS);
    assertThat(t.ingressDefault()).isEqualTo(MapLayouts.POLICY_DENY);
    assertThat(t.egressDefault()).isEqualTo(MapLayouts.POLICY_ALLOW);
    assertThat(t.egressDefaultCookie()).isZero();
    // the same rules give the same cookie
    assertThat(cookies.ofRules(ProtoPolicies.toCore(p).ingress().byPeer().get(0).get(0).rules()))
        .isEqualTo(cookie);
    assertThat(List.of(t.ingressClasses().values().iterator().next())).containsExactly(0x7F000001);
  }
}
