package io.porin.agent.encrypt;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.ipam.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the devices are told (UAPI text, {@code wg set} arguments) and what is read back. */
class DeviceProtocolsTest {
  private static final WireGuardKeys A = WireGuardKeys.generate();
  private static final WireGuardKeys B = WireGuardKeys.generate();
  private static final WireGuardKeys C = WireGuardKeys.generate();

  private static WireGuardDevice.Peer peer(WireGuardKeys k, String host, String... allowed) {
    return new WireGuardDevice.Peer(
        k.publicBase64(),
        new InetSocketAddress(InetAddress.ofLiteral(host), 51871),
        List.of(allowed).stream().map(Cidr::parse).toList());
  }

  private static String hex(WireGuardKeys k) {
    return HexFormat.of().formatHex(k.publicKey());
  }

  @Test
  void uapiChangesRemoveFirstThenSetEachPeerInFull() {
    String req =
        Uapi.update(
            List.of(C.publicBase64()),
            List.of(peer(B, "172.30.1.12", "10.200.1.0/24", "172.30.1.12/32"), peer(A, "fd00::1")));
    assertThat(req)
        .isEqualTo(
            "set=1\n"
                + "public_key="
                + hex(C)
                + "\nremove=true\n"
                + "public_key="
                + hex(B)
                + "\nendpoint=172.30.1.12:51871\npersistent_keepalive_interval=25"
                + "\nreplace_allowed_ips=true\n"
                + "allowed_ip=10.200.1.0/24\nallowed_ip=172.30.1.12/32\n"
                + "public_key="
                + hex(A)
                + "\nendpoint=[fd00:0:0:0:0:0:0:1]:51871\npersistent_keepalive_interval=25"
                + "\nreplace_allowed_ips=true\n\n");
    assertThat(Uapi.configure(A, 51871))
        .isEqualTo("set=1\nprivate_key=" + A.privateHex() + "\nlisten_port=51871\n\n");
  }

  @Test
  void uapiStatusIsRead() throws Exception {
    String reply =
        "private_key="
            + A.privateHex()
            + "\nlisten_port=51871\n"
            + "public_key="
            + hex(B)
            + "\npreshared_key=0000\nprotocol_version=1\nendpoint=172.30.1.12:51871\n"
            + "last_handshake_time_sec=1796613439\nlast_handshake_time_nsec=5\n"
            + "tx_bytes=644\nrx_bytes=380\npersistent_keepalive_interval=0\n"
            + "allowed_ip=10.200.1.0/24\nallowed_ip=172.30.1.12/32\n"
            + "public_key="
            + hex(C)
            + "\nendpoint=172.30.1.13:51871\nlast_handshake_time_sec=0\ntx_bytes=0\nrx_bytes=0\n"
            + "errno=0\n\n";
    WireGuardDevice.Status s = Uapi.parse(reply);
    assertThat(s.publicKey()).isEqualTo(A.publicBase64());
    assertThat(s.listenPort()).isEqualTo(51871);
    assertThat(s.peers())
        .containsExactly(
            new WireGuardDevice.PeerStatus(
                B.publicBase64(),
                "172.30.1.12:51871",
                List.of("10.200.1.0/24", "172.30.1.12/32"),
                1796613439,
                380,
                644),
            new WireGuardDevice.PeerStatus(
                C.publicBase64(), "172.30.1.13:51871", List.of(), 0, 0, 0));
  }

  @Test
  void wgSetArgumentsAndDumpForTheKernelDevice() {
    assertThat(
            KernelDevice.arguments(
                "porin_wg0",
                List.of(C.publicBase64()),
                List.of(peer(B, "172.30.1.12", "10.200.1.0/24", "fd00:200:1::/120"))))
        .containsExactly(
            "set",
            "porin_wg0",
            "peer",
            C.publicBase64(),
            "remove",
            "peer",
            B.publicBase64(),
            "endpoint",
            "172.30.1.12:51871",
            "persistent-keepalive",
            "25",
            "allowed-ips",
            "10.200.1.0/24,fd00:200:1::/120");
    String dump =
        A.privateBase64()
            + "\t"
            + A.publicBase64()
            + "\t51871\toff\n"
            + B.publicBase64()
            + "\t(none)\t172.30.1.12:51871\t10.200.1.0/24,172.30.1.12/32\t1796613439\t380\t644\toff\n"
            + C.publicBase64()
            + "\t(none)\t(none)\t(none)\t0\t0\t0\toff\n";
    WireGuardDevice.Status s = KernelDevice.parseDump(dump);
    assertThat(s.publicKey()).isEqualTo(A.publicBase64());
    assertThat(s.peers())
        .containsExactly(
            new WireGuardDevice.PeerStatus(
                B.publicBase64(),
                "172.30.1.12:51871",
                List.of("10.200.1.0/24", "172.30.1.12/32"),
                1796613439,
                380,
                644),
            new WireGuardDevice.PeerStatus(C.publicBase64(), "", List.of(), 0, 0, 0));
  }
}
