package io.porin.cli.encrypt;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.api.agent.v1.EncryptionStatus;
import io.porin.api.agent.v1.RotateKeyResponse;
import io.porin.api.agent.v1.WireGuardPeer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EncryptionViewTest {
  static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");

  static EncryptionStatus wireGuard() {
    return EncryptionStatus.newBuilder()
        .setNode("lab-node1")
        .setEncryption("wireguard")
        .setMode("kernel")
        .setInterface("porin_wg0")
        .setPort(51871)
        .setPublicKey("k1+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .setExpectedPeers(2)
        .addPeers(
            WireGuardPeer.newBuilder()
                .setNode("lab-node2")
                .setPublicKey("k2+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .setEndpoint("172.30.1.12:51871")
                .addAllowedIps("10.200.1.0/24")
                .addAllowedIps("fd00:200:1::/64")
                .setLatestHandshake(NOW.getEpochSecond() - 12)
                .setReceivedBytes(1536)
                .setSentBytes(92))
        .addPeers(
            WireGuardPeer.newBuilder()
                .setNode("lab-node3")
                .setPublicKey("k3+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .setEndpoint("172.30.1.13:51871")
                .addAllowedIps("10.200.2.0/24")
                .setReceivedBytes(0)
                .setSentBytes(3 * 1024 * 1024))
        .build();
  }

  static String print(EncryptionStatus s) {
    StringWriter w = new StringWriter();
    EncryptionView.print(new PrintWriter(w), s, NOW);
    return w.toString();
  }

  @Test
  void aWireGuardNodeAsCiliumEncryptStatus() {
    assertThat(print(wireGuard()))
        .isEqualTo(
            """
            Node:        lab-node1
            Encryption:  Wireguard
            Mode:        kernel
            Interface:   porin_wg0
            Port:        51871
            Public key:  k1+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
            Strict:      off
            Peers:       2/2
            NODE        ENDPOINT            ALLOWED IPS       LATEST HANDSHAKE   RX        TX
            lab-node2   172.30.1.12:51871   10.200.1.0/24     12s ago            1.5 KiB   92 B
                                            fd00:200:1::/64
            lab-node3   172.30.1.13:51871   10.200.2.0/24     never              0 B       3.0 MiB
            """);
  }

  @Test
  void userspaceStrictAndNoPeers() {
    EncryptionStatus s =
        wireGuard().toBuilder().setMode("userspace").setStrict(true).clearPeers().build();
    assertThat(print(s))
        .contains("Mode:        userspace (wireguard-go)\n")
        .contains("Strict:      on\n")
        .endsWith("Peers:       0/2\n")
        .doesNotContain("NODE");
  }

  @Test
  void disabled() {
    EncryptionStatus s =
        EncryptionStatus.newBuilder().setNode("lab-node1").setEncryption("disabled").build();
    assertThat(print(s)).isEqualTo("Node:        lab-node1\nEncryption:  Disabled\n");
    assertThat(EncryptionView.summary(s)).isEqualTo("Disabled");
    assertThat(EncryptionView.complete(s)).isTrue();
    assertThat(EncryptionView.json(s))
        .isEqualTo(Map.of("node", "lab-node1", "encryption", "disabled"));
    // An agent that does not know the field: disabled.
    assertThat(EncryptionView.summary(EncryptionStatus.getDefaultInstance())).isEqualTo("Disabled");
  }

  @Test
  void summaryCountsPeersAgainstTheExpected() {
    assertThat(EncryptionView.summary(wireGuard())).isEqualTo("WireGuard [porin_wg0, peers 2/2]");
    assertThat(EncryptionView.complete(wireGuard())).isTrue();
    EncryptionStatus missing = wireGuard().toBuilder().setExpectedPeers(3).build();
    assertThat(EncryptionView.summary(missing)).isEqualTo("WireGuard [porin_wg0, peers 2/3]");
    assertThat(EncryptionView.complete(missing)).isFalse();
  }

  @Test
  void jsonCarriesEveryField() {
    Map<String, Object> m = EncryptionView.json(wireGuard());
    assertThat(m)
        .containsEntry("encryption", "wireguard")
        .containsEntry("mode", "kernel")
        .containsEntry("interface", "porin_wg0")
        .containsEntry("port", 51871L)
        .containsEntry("strict", false)
        .containsEntry("expectedPeers", 2L);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> peers = (List<Map<String, Object>>) m.get("peers");
    assertThat(peers).hasSize(2);
    assertThat(peers.getFirst())
        .containsEntry("node", "lab-node2")
        .containsEntry("endpoint", "172.30.1.12:51871")
        .containsEntry("allowedIps", List.of("10.200.1.0/24", "fd00:200:1::/64"))
        .containsEntry("latestHandshake", NOW.getEpochSecond() - 12)
        .containsEntry("receivedBytes", 1536L)
        .containsEntry("sentBytes", 92L);
  }

  @ParameterizedTest
  @CsvSource({
    "0, never",
    "1, 1s ago",
    "59, 59s ago",
    "60, 1m ago",
    "185, 3m5s ago",
    "3600, 1h ago",
    "7440, 2h4m ago",
    "90000, 1d1h ago",
    "-30, 0s ago"
  })
  void handshakeAge(long secondsAgo, String expected) {
    long at = secondsAgo == 0 ? 0 : NOW.getEpochSecond() - secondsAgo;
    assertThat(EncryptionView.handshake(at, NOW)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({
    "0, 0 B",
    "1023, 1023 B",
    "1024, 1.0 KiB",
    "1536, 1.5 KiB",
    "1048576, 1.0 MiB",
    "5368709120, 5.0 GiB",
    "-1, 16.0 EiB"
  })
  void humanBytes(long n, String expected) {
    assertThat(EncryptionView.bytes(n)).isEqualTo(expected);
  }

  @Test
  void rotatedSaysTheNewKey() {
    assertThat(
            EncryptCommand.rotated(
                RotateKeyResponse.newBuilder().setNode("lab-node2").setPublicKey("K=").build()))
        .isEqualTo(
            "node lab-node2: new public key K=; peers switch to it as they see the node's record");
  }
}
