package io.porin.cli.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.api.agent.v1.AgentStatus;
import io.porin.api.agent.v1.EncryptionStatus;
import io.porin.api.agent.v1.WireGuardPeer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** porin status's Encryption line from the agents' statuses. */
class StatusEncryptionTest {
  static Cluster.Answer<AgentStatus> node(String name, int peers, int expected) {
    EncryptionStatus.Builder e =
        EncryptionStatus.newBuilder()
            .setNode(name)
            .setEncryption("wireguard")
            .setMode("kernel")
            .setInterface("porin_wg0")
            .setExpectedPeers(expected);
    for (int i = 0; i < peers; i++) {
      e.addPeers(WireGuardPeer.newBuilder().setNode("peer" + i));
    }
    return new Cluster.Answer<>(
        AgentStatus.newBuilder().setNode(name).setEncryption(e).build(), null);
  }

  static Cluster.Answer<AgentStatus> disabled(String name) {
    return new Cluster.Answer<>(
        AgentStatus.newBuilder()
            .setNode(name)
            .setEncryption(EncryptionStatus.newBuilder().setEncryption("disabled"))
            .build(),
        null);
  }

  static Cluster.Answer<AgentStatus> unreachable() {
    return new Cluster.Answer<>(null, "agent 10.0.0.3:9404: unreachable");
  }

  static Map<String, Cluster.Answer<AgentStatus>> nodes(Object... nameAndAnswer) {
    Map<String, Cluster.Answer<AgentStatus>> m = new LinkedHashMap<>();
    for (int i = 0; i < nameAndAnswer.length; i += 2) {
      @SuppressWarnings("unchecked")
      Cluster.Answer<AgentStatus> a = (Cluster.Answer<AgentStatus>) nameAndAnswer[i + 1];
      m.put((String) nameAndAnswer[i], a);
    }
    return m;
  }

  @Test
  void everyNodeAlikeIsOneSummary() {
    var all = nodes("n1", node("n1", 2, 2), "n2", node("n2", 2, 2), "n3", node("n3", 2, 2));
    assertThat(StatusCommand.encryption(all))
        .isEqualTo(new StatusCommand.Line("Encryption", true, "WireGuard [porin_wg0, peers 2/2]"));
  }

  @Test
  void disabledEverywhere() {
    assertThat(StatusCommand.encryption(nodes("n1", disabled("n1"), "n2", disabled("n2"))))
        .isEqualTo(new StatusCommand.Line("Encryption", true, "Disabled"));
  }

  @Test
  void nodesThatDifferAreEachNamedAndMissingPeersAreNotOk() {
    var all = nodes("n1", node("n1", 2, 2), "n2", node("n2", 1, 2), "n3", unreachable());
    assertThat(StatusCommand.encryption(all))
        .isEqualTo(
            new StatusCommand.Line(
                "Encryption",
                false,
                "n1: WireGuard [porin_wg0, peers 2/2]; n2: WireGuard [porin_wg0, peers 1/2]"));
  }

  @Test
  void noNodeAnsweredNoLine() {
    assertThat(StatusCommand.encryption(nodes("n1", unreachable()))).isNull();
  }
}
