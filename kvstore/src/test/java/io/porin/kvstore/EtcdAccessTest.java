package io.porin.kvstore;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.tls.PeerIdentity;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The access table: who writes where (etcd enforces it; EtcdAccessIT shows that it does). */
class EtcdAccessTest {
  static boolean writes(PeerIdentity id, String key) {
    return EtcdAccess.grantsOf(id).stream()
        .anyMatch(g -> g.write() && (g.prefix() ? key.startsWith(g.key()) : key.equals(g.key())));
  }

  @Test
  void eachServiceWritesItsOwnPrefixesOnly() {
    PeerIdentity identity = PeerIdentity.service("identity");
    assertThat(writes(identity, Keys.Identities.id(70000))).isTrue();
    assertThat(writes(identity, Keys.Revocations.of("node", "n1"))).isTrue();
    assertThat(writes(identity, Keys.Audit.record("identity", 1, 1))).isTrue();
    assertThat(writes(identity, Keys.Audit.record("policy", 1, 1))).isFalse();
    assertThat(writes(identity, Keys.Ipam.node("n1"))).isFalse();
    PeerIdentity policy = PeerIdentity.service("policy");
    assertThat(writes(policy, Keys.Resources.resource("pods", "demo", "x"))).isTrue();
    assertThat(writes(policy, Keys.Audit.record("identity", 1, 1))).as("trims").isTrue();
    assertThat(writes(policy, Keys.Identities.id(70000))).isFalse();
    assertThat(writes(PeerIdentity.service("ipam"), Keys.Ipam.node("n1"))).isTrue();
    for (String reader : List.of("relay", "dns")) {
      assertThat(EtcdAccess.grantsOf(PeerIdentity.service(reader))).isEmpty();
    }
  }

  @Test
  void aNodeWritesItsOwnRecordAndEndpointsOnly() {
    PeerIdentity n1 = PeerIdentity.node("n1");
    assertThat(writes(n1, Keys.Nodes.node("n1"))).isTrue();
    assertThat(writes(n1, Keys.Endpoints.endpoint("n1", "10.0.0.5"))).isTrue();
    assertThat(writes(n1, Keys.Nodes.node("n10"))).as("an exact key, not a prefix").isFalse();
    assertThat(writes(n1, Keys.Nodes.node("n2"))).isFalse();
    assertThat(writes(n1, Keys.Endpoints.endpoint("n2", "10.0.0.5"))).isFalse();
    assertThat(writes(n1, Keys.Endpoints.endpoint("n10", "10.0.0.5"))).isFalse();
    assertThat(writes(n1, Keys.Revocations.of("node", "n1"))).isFalse();
  }

  @Test
  void theEtcdctlFormGrantsTheSame() {
    List<List<String>> cmds = EtcdAccess.etcdctlAdmit(PeerIdentity.node("n1"));
    assertThat(cmds)
        .contains(List.of("user", "add", "node.n1", "--no-password"))
        .contains(
            List.of(
                "role", "grant-permission", "porin-node-n1", "readwrite", Keys.Nodes.node("n1")))
        .contains(
            List.of(
                "role",
                "grant-permission",
                "porin-node-n1",
                "readwrite",
                Keys.Endpoints.ofNode("n1"),
                "--prefix=true"));
    assertThat(EtcdAccess.etcdctlAdmit(new PeerIdentity(PeerIdentity.Kind.ADMIN, "ops")))
        .contains(List.of("user", "grant-role", "admin.ops", "root"));
    assertThat(EtcdAccess.etcdctlEnable().getLast()).isEqualTo(List.of("auth", "enable"));
  }

  @Test
  void endpointKeysNameTheirNodeAndAddress() {
    String k = Keys.Endpoints.endpoint("n1", "fd00::5");
    assertThat(Keys.Endpoints.nodeOf(k)).contains("n1");
    assertThat(Keys.Endpoints.ipOf(k)).contains("fd00::5");
    assertThat(Keys.Endpoints.nodeOf(Keys.Endpoints.PREFIX + "10.0.0.1")).isEmpty();
    assertThat(Keys.Endpoints.nodeOf(Keys.Endpoints.PREFIX + "n1/")).isEmpty();
  }
}
