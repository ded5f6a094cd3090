package io.porin.agent.bpf;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Crafted Ethernet frames for the packet tests (checksums are not checked by the datapath). */
final class Packets {
  static final int TCP = 6;
  static final int UDP = 17;
  static final int ICMP = 1;
  static final int ICMPV6 = 58;
  static final int SCTP = 132;
  static final int SYN = 0x02;
  static final int ACK = 0x10;
  static final int FIN = 0x01;
  static final int RST = 0x04;

  private Packets() {}

  /** L4 header bytes: TCP (20 bytes) with flags. */
  static byte[] tcp(int sport, int dport, int flags) {
    byte[] h = new byte[20];
    port(h, 0, sport);
    port(h, 2, dport);
    h[12] = 0x50;
    h[13] = (byte) flags;
    return h;
  }

  static byte[] udp(int sport, int dport) {
    byte[] h = new byte[8];
    port(h, 0, sport);
    port(h, 2, dport);
    h[5] = 8;
    return h;
  }

  static byte[] icmp(int type, int id) {
    byte[] h = new byte[8];
    h[0] = (byte) type;
    port(h, 4, id);
    return h;
  }

  static byte[] ipv4(String src, String dst, int protocol, byte[] l4) {
    return ipv4(src, dst, protocol, 0x4000, 1, l4);
  }

  /** IPv4 with explicit flags+fragment offset field (e.g. 0x2000 = more fragments). */
  static byte[] ipv4(String src, String dst, int protocol, int fragField, int id, byte[] l4) {
    byte[] ip = new byte[20];
    ip[0] = 0x45;
    port(ip, 2, 20 + l4.length);
    port(ip, 4, id);
    port(ip, 6, fragField);
    ip[8] = 64;
    ip[9] = (byte) protocol;
    System.arraycopy(addr(src), 0, ip, 12, 4);
    System.arraycopy(addr(dst), 0, ip, 16, 4);
    checksum(ip, 0);
    return frame(0x0800, ip, l4);
  }

  /** IPv6, optionally with a hop-by-hop options header before L4. */
  static byte[] ipv6(String src, String dst, int protocol, boolean hopByHop, byte[] l4) {
    byte[] ext = hopByHop ? new byte[8] : new byte[0];
    byte[] ip = new byte[40];
    ip[0] = 0x60;
    port(ip, 4, ext.length + l4.length);
    ip[6] = (byte) (hopByHop ? 0 : protocol);
    ip[7] = 64;
    System.arraycopy(addr(src), 0, ip, 8, 16);
    System.arraycopy(addr(dst), 0, ip, 24, 16);
    if (hopByHop) {
      ext[0] = (byte) protocol;
      ext[1] = 0; // 8 bytes
      ext[2] = 1; // PadN
      ext[3] = 4;
    }
    byte[] both = new byte[ext.length + l4.length];
    System.arraycopy(ext, 0, both, 0, ext.length);
    System.arraycopy(l4, 0, both, ext.length, l4.length);
    return frame(0x86DD, ip, both);
  }

  /** An IPv4 frame with another TTL (and its header checksum fixed). */
  static byte[] withTtl(byte[] frame, int ttl) {
    byte[] f = frame.clone();
    f[14 + 8] = (byte) ttl;
    checksum(f, 14);
    return f;
  }

  /** True when the IPv4 header at offset 14 of a frame has a valid checksum. */
  static boolean checksumValid(byte[] frame) {
    return sum(frame, 14) == 0xFFFF;
  }

  private static void checksum(byte[] b, int off) {
    b[off + 10] = 0;
    b[off + 11] = 0;
    int c = ~sum(b, off) & 0xFFFF;
    b[off + 10] = (byte) (c >>> 8);
    b[off + 11] = (byte) c;
  }

  private static int sum(byte[] b, int off) {
    int s = 0;
    for (int i = 0; i < 20; i += 2) {
      s += ((b[off + i] & 0xFF) << 8) | (b[off + i + 1] & 0xFF);
    }
    while ((s >>> 16) != 0) {
      s = (s & 0xFFFF) + (s >>> 16);
    }
    return s;
  }

  static byte[] arp() {
    return frame(0x0806, new byte[28], new byte[0]);
  }

  private static byte[] frame(int ethertype, byte[] l3, byte[] l4) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1});
    out.write(ethertype >>> 8);
    out.write(ethertype & 0xFF);
    out.writeBytes(l3);
    out.writeBytes(l4);
    // pad to the Ethernet minimum so the kernel takes it as a frame
    while (out.size() < 60) {
      out.write(0);
    }
    return out.toByteArray();
  }

  private static void port(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 8);
    b[off + 1] = (byte) v;
  }

  private static byte[] addr(String a) {
    try {
      return InetAddress.getByName(a).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(a, e);
    }
  }
}
