package io.porin.agent.encrypt;

import io.porin.core.ipam.Cidr;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * WireGuard's cross-platform userspace API (wireguard.com/xplatform): text over the device's unix
 * socket, keys in hex, {@code errno=0} on success. One connection per request.
 */
final class Uapi {
  private final Path socket;

  Uapi(Path socket) {
    this.socket = socket;
  }

  Path socket() {
    return socket;
  }

  /** The {@code set=1} request of a configuration (its key and port). */
  static String configure(WireGuardKeys keys, int port) {
    return "set=1\nprivate_key=" + keys.privateHex() + "\nlisten_port=" + port + "\n\n";
  }

  /** The {@code set=1} request of a peer change: removals first, then peers set in full. */
  static String update(Collection<String> remove, Collection<WireGuardDevice.Peer> set) {
    StringBuilder b = new StringBuilder("set=1\n");
    for (String key : remove) {
      b.append("public_key=").append(hex(key)).append("\nremove=true\n");
    }
    for (WireGuardDevice.Peer p : set) {
      b.append("public_key=").append(hex(p.publicKey())).append('\n');
      if (p.endpoint() != null) {
        b.append("endpoint=").append(endpoint(p.endpoint())).append('\n');
      }
      b.append("persistent_keepalive_interval=")
          .append(WireGuardDevice.KEEPALIVE_SECONDS)
          .append("\nreplace_allowed_ips=true\n");
      for (Cidr c : p.allowedIps()) {
        b.append("allowed_ip=").append(c).append('\n');
      }
    }
    return b.append('\n').toString();
  }

  static String endpoint(InetSocketAddress a) {
    String host = a.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  static String hex(String base64) {
    return HexFormat.of().formatHex(WireGuardKeys.parsePublic(base64));
  }

  static String base64(String hex) {
    return Base64.getEncoder().encodeToString(HexFormat.of().parseHex(hex));
  }

  /** Sends a set request; throws with the device's errno when it refuses. */
  void set(String request) throws IOException {
    String reply = exchange(request);
    if (!reply.startsWith("errno=0")) {
      throw new IOException("wireguard " + socket + " refused the change: " + reply.strip());
    }
  }

  WireGuardDevice.Status get() throws IOException {
    return parse(exchange("get=1\n\n"));
  }

  /** Whether something answers on the socket. */
  boolean alive() {
    try {
      get();
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** A get=1 reply read into a status (the private key is not kept). */
  static WireGuardDevice.Status parse(String reply) throws IOException {
    String publicKey = "";
    int port = 0;
    List<WireGuardDevice.PeerStatus> peers = new ArrayList<>();
    String key = null;
    String endpoint = "";
    List<String> allowed = new ArrayList<>();
    long handshake = 0;
    long rx = 0;
    long tx = 0;
    for (String line : reply.split("\n")) {
      int eq = line.indexOf('=');
      if (eq < 0) {
        continue;
      }
      String k = line.substring(0, eq);
      String v = line.substring(eq + 1);
      switch (k) {
        case "private_key" -> publicKey = base64Public(v);
        case "listen_port" -> port = Integer.parseInt(v);
        case "public_key" -> {
          if (key != null) {
            peers.add(new WireGuardDevice.PeerStatus(key, endpoint, allowed, handshake, rx, tx));
          }
          key = base64(v);
          endpoint = "";
          allowed = new ArrayList<>();
          handshake = rx = tx = 0;
        }
        case "endpoint" -> endpoint = v;
        case "allowed_ip" -> allowed.add(v);
        case "last_handshake_time_sec" -> handshake = Long.parseLong(v);
        case "rx_bytes" -> rx = Long.parseLong(v);
        case "tx_bytes" -> tx = Long.parseLong(v);
        case "errno" -> {
          if (!v.equals("0")) {
            throw new IOException("wireguard get failed: errno=" + v);
          }
        }
        default -> {}
      }
    }
    if (key != null) {
      peers.add(new WireGuardDevice.PeerStatus(key, endpoint, allowed, handshake, rx, tx));
    }
    return new WireGuardDevice.Status(publicKey, port, peers);
  }

  private static String base64Public(String privateHex) {
    return WireGuardKeys.ofPrivate(HexFormat.of().parseHex(privateHex)).publicBase64();
  }

  /** A device that does not answer within this is taken for hung. */
  private static final long TIMEOUT_MILLIS = 5000;

  private String exchange(String request) throws IOException {
    long deadline = System.currentTimeMillis() + TIMEOUT_MILLIS;
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        java.nio.channels.Selector selector = java.nio.channels.Selector.open()) {
      ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
      ch.configureBlocking(false);
      ch.register(selector, java.nio.channels.SelectionKey.OP_READ);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(16384);
      while (true) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          throw new IOException(socket + ": no answer within " + TIMEOUT_MILLIS + " ms");
        }
        selector.select(left);
        selector.selectedKeys().clear();
        buf.clear();
        int n = ch.read(buf);
        if (n == 0) {
          continue;
        }
        if (n < 0) {
          break;
        }
        out.write(buf.array(), 0, n);
        String s = out.toString(StandardCharsets.UTF_8);
        // a reply ends with an errno line and a blank line
        if (s.endsWith("\n\n") && s.contains("errno=")) {
          break;
        }
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }
}
