package io.porin.cli.encrypt;

import io.porin.api.agent.v1.EncryptionStatus;
import io.porin.api.agent.v1.WireGuardPeer;
import io.porin.cli.output.Table;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A node's transparent encryption as the CLI shows it: {@code porin encrypt status}'s block (as
 * {@code cilium encrypt status}: the node's device and key, then its peers) and {@code porin
 * status}'s summary.
 */
public final class EncryptionView {
  private EncryptionView() {}

  /** Whether the node runs WireGuard (an agent without the field does not). */
  public static boolean wireGuard(EncryptionStatus s) {
    return s.getEncryption().equals("wireguard");
  }

  /** Whether the node has every peer it should: always, when encryption is off. */
  public static boolean complete(EncryptionStatus s) {
    return !wireGuard(s) || s.getPeersCount() >= s.getExpectedPeers();
  }

  /** {@code WireGuard [porin_wg0, peers 2/2]} or {@code Disabled}: porin status's view. */
  public static String summary(EncryptionStatus s) {
    if (!wireGuard(s)) {
      return "Disabled";
    }
    return "WireGuard ["
        + s.getInterface()
        + ", peers "
        + s.getPeersCount()
        + "/"
        + s.getExpectedPeers()
        + "]";
  }

  /** {@code kernel}, or {@code userspace (wireguard-go)}. */
  static String mode(String mode) {
    return mode.equals("userspace") ? "userspace (wireguard-go)" : mode;
  }

  /** {@code never}, {@code 12s ago}, {@code 3m5s ago}, {@code 2h4m ago}, {@code 3d1h ago}. */
  static String handshake(long epochSeconds, Instant now) {
    if (epochSeconds == 0) {
      return "never";
    }
    long s = Math.max(0, Duration.between(Instant.ofEpochSecond(epochSeconds), now).toSeconds());
    if (s < 60) {
      return s + "s ago";
    }
    if (s < 3600) {
      return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s") + " ago";
    }
    if (s < 86400) {
      return s / 3600 + "h" + (s % 3600 / 60 == 0 ? "" : s % 3600 / 60 + "m") + " ago";
    }
    return s / 86400 + "d" + (s % 86400 / 3600 == 0 ? "" : s % 86400 / 3600 + "h") + " ago";
  }

  /** {@code 512 B}, {@code 1.5 KiB}, {@code 3.0 MiB}, ... (an unsigned count). */
  static String bytes(long n) {
    if (n >= 0 && n < 1024) {
      return n + " B";
    }
    double v = new BigInteger(Long.toUnsignedString(n)).doubleValue();
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** One node's block: the device, then a table of its peers. */
  static void print(PrintWriter out, EncryptionStatus s, Instant now) {
    field(out, "Node", s.getNode());
    if (!wireGuard(s)) {
      field(out, "Encryption", "Disabled");
      return;
    }
    field(out, "Encryption", "Wireguard");
    field(out, "Mode", mode(s.getMode()));
    field(out, "Interface", s.getInterface());
    field(out, "Port", Integer.toUnsignedString(s.getPort()));
    field(out, "Public key", s.getPublicKey());
    field(out, "Strict", s.getStrict() ? "on" : "off");
    field(out, "Peers", s.getPeersCount() + "/" + s.getExpectedPeers());
    if (s.getPeersCount() == 0) {
      return;
    }
    Table t = new Table("NODE", "ENDPOINT", "ALLOWED IPS", "LATEST HANDSHAKE", "RX", "TX");
    for (WireGuardPeer p : s.getPeersList()) {
      t.row(
          List.of(
              List.of(p.getNode().isEmpty() ? "<unknown: " + p.getPublicKey() + ">" : p.getNode()),
              List.of(p.getEndpoint().isEmpty() ? "<none>" : p.getEndpoint()),
              p.getAllowedIpsList().isEmpty() ? List.of("<none>") : p.getAllowedIpsList(),
              List.of(handshake(p.getLatestHandshake(), now)),
              List.of(bytes(p.getReceivedBytes())),
              List.of(bytes(p.getSentBytes()))));
    }
    t.print(out);
  }

  private static void field(PrintWriter out, String name, String value) {
    out.printf("%-12s %s%n", name + ":", value);
  }

  /** One node's status for -o json. */
  static Map<String, Object> json(EncryptionStatus s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("node", s.getNode());
    m.put("encryption", s.getEncryption().isEmpty() ? "disabled" : s.getEncryption());
    if (wireGuard(s)) {
      m.put("mode", s.getMode());
      m.put("interface", s.getInterface());
      m.put("port", Integer.toUnsignedLong(s.getPort()));
      m.put("publicKey", s.getPublicKey());
      m.put("strict", s.getStrict());
      m.put("expectedPeers", Integer.toUnsignedLong(s.getExpectedPeers()));
      List<Map<String, Object>> peers = new ArrayList<>();
      for (WireGuardPeer p : s.getPeersList()) {
        Map<String, Object> x = new LinkedHashMap<>();
        x.put("node", p.getNode());
        x.put("publicKey", p.getPublicKey());
        x.put("endpoint", p.getEndpoint());
        x.put("allowedIps", p.getAllowedIpsList());
        x.put("latestHandshake", p.getLatestHandshake());
        x.put("receivedBytes", unsigned(p.getReceivedBytes()));
        x.put("sentBytes", unsigned(p.getSentBytes()));
        peers.add(x);
      }
      m.put("peers", peers);
    }
    return m;
  }

  private static Object unsigned(long n) {
    return n >= 0 ? (Object) n : new BigInteger(Long.toUnsignedString(n));
  }
}
