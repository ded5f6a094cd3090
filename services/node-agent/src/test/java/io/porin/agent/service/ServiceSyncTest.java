package io.porin.agent.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.testing.FakeLoadBalancer;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceSyncTest {
  private static ServiceRecord svc(String name, String vip, String algorithm, String... backends) {
    List<ServiceRecord.Backend> bs =
        java.util.Arrays.stream(backends)
            .map(
                ip ->
                    new ServiceRecord.Backend(
                        "p" + ip, "n", List.of(ip), ServiceRecord.State.ACTIVE, List.of(8080)))
            .toList();
    return new ServiceRecord(
        "ns",
        name,
        "NodePort",
        List.of(vip),
        false,
        List.of(new ServiceRecord.Port("web", 80, Protocol.TCP, name.equals("a") ? 30080 : 0)),
        0,
        algorithm,
        bs);
  }

  @Test
  void aChangeOfOneServiceWritesOnlyThatServicesFrontendsAndSharedBackendsStay() {
    FakeLoadBalancer lb = new FakeLoadBalancer();
    ServiceSync sync = new ServiceSync(lb, List.of("192.168.0.1"));
    sync.reset(
        List.of(
            svc("a", "10.96.0.1", "random", "10.0.0.1", "10.0.0.2"),
            svc("b", "10.96.0.2", "random", "10.0.0.2")));
    // a: a cluster IP and a node port; b: a cluster IP; over 2 backends
    assertThat(lb.frontends).hasSize(3);
    assertThat(lb.backends).hasSize(2);
    lb.writes.clear();
    sync.update(List.of(svc("a", "10.96.0.1", "random", "10.0.0.1")), List.of());
    assertThat(lb.writes)
        .as("only a's frontends; 10.0.0.2 still serves b")
        .allMatch(w -> w.startsWith("frontend+10.96.0.1") || w.startsWith("frontend+192.168.0.1"))
        .isNotEmpty();
    assertThat(lb.backends).hasSize(2);
    sync.update(List.of(), List.of("ns/b"));
    assertThat(lb.frontends).hasSize(2);
    assertThat(lb.revNat).hasSize(2);
    assertThat(lb.backends.values()).extracting(a -> a.port()).containsExactly(8080);
    assertThat(lb.backends).hasSize(1);
  }

  @Test
  void aFrontendTwoServicesClaimStaysTheFirstOnesAndMaglevTablesFollowTheAlgorithm() {
    FakeLoadBalancer lb = new FakeLoadBalancer();
    ServiceSync sync = new ServiceSync(lb, List.of());
    sync.reset(
        List.of(
            svc("a", "10.96.0.1", "maglev", "10.0.0.1", "10.0.0.2"),
            svc("dup", "10.96.0.1", "random", "10.0.0.3")));
    assertThat(lb.frontends).hasSize(1);
    int rev = lb.frontends.values().iterator().next().revNat();
    assertThat(sync.serviceOf(rev)).isEqualTo("ns/a");
    assertThat(lb.maglev.get(rev)).hasSize(16381);
    sync.update(List.of(svc("a", "10.96.0.1", "random", "10.0.0.1")), List.of());
    assertThat(lb.maglev).isEmpty();
  }

  @Test
  void aRestartedSyncAdoptsTheMapsAndRemovesWhatTheStoreNoLongerHas() {
    FakeLoadBalancer lb = new FakeLoadBalancer();
    new ServiceSync(lb, List.of())
        .reset(
            List.of(
                svc("a", "10.96.0.1", "maglev", "10.0.0.1"),
                svc("b", "10.96.0.2", "maglev", "10.0.0.2")));
    assertThat(lb.maglev).hasSize(2);
    lb.writes.clear();
    ServiceSync again = new ServiceSync(lb, List.of());
    again.reset(List.of(svc("a", "10.96.0.1", "maglev", "10.0.0.1")));
    assertThat(lb.frontends).hasSize(1);
    assertThat(lb.backends).hasSize(1);
    // numbers are the sync's own choice: find a's by its frontend, its backend by address
    int aRev = lb.frontends.values().iterator().next().revNat();
    int aBackend = lb.backends.keySet().iterator().next();
    assertThat(lb.maglev).as("b's table goes, a's is rewritten once").containsOnlyKeys(aRev);
    assertThat(lb.writes)
        .contains("maglev+" + aRev)
        .as("a's backend was adopted, not written again")
        .doesNotContain("backend+" + aBackend);
  }
}
