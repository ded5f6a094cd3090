package io.porin.agent.bpf;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Crafted Ethernet frames for the packet tests (the datapath does not check L4 checksums). Frames
 * are built as the host sends them to a pod (source MAC {@link #HOST_MAC}, destination {@link
 * #POD_MAC}); {@link #fromPod} turns one around as the pod sends it.
 */
public final class Packets {
  public static final int TCP = 6;
  public static final int UDP = 17;
  public static final int ICMP = 1;
  public static final int ICMPV6 = 58;
  public static final int SCTP = 132;
  public static final int SYN = 0x02;
  public static final int ACK = 0x10;
  public static final int FIN = 0x01;
  public static final int RST = 0x04;
  public static final byte[] HOST_MAC = {2, 0, 0, 0, 0, 1};
  public static final byte[] POD_MAC = {2, 0, 0, 0, 0, 2};

  private Packets() {}

  /** L4 header bytes: TCP (20 bytes) with flags. */
  public static byte[] tcp(int sport, int dport, int flags) {
    byte[] h = new byte[20];
    port(h, 0, sport);
    port(h, 2, dport);
    h[12] = 0x50;
    h[13] = (byte) flags;
    return h;
  }

  public static byte[] udp(int sport, int dport) {
    byte[] h = new byte[8];
    port(h, 0, sport);
    port(h, 2, dport);
    h[5] = 8;
    return h;
  }

  public static byte[] icmp(int type, int id) {
    return icmp(type, 0, id);
  }

  public static byte[] icmp(int type, int code, int id) {
    byte[] h = new byte[8];
    h[0] = (byte) type;
    h[1] = (byte) code;
    port(h, 4, id);
    return h;
  }

  /**
   * An ICMP error (type, code) carrying the start of {@code about}: its IP header and the first 8
   * bytes after it, as routers send them.
   */
  public static byte[] icmpError(int type, int code, byte[] aboutFrame) {
    int ipLen = (aboutFrame[14] & 0xF0) == 0x60 ? 40 : (aboutFrame[14] & 0x0F) * 4;
    byte[] inner = Arrays.copyOfRange(aboutFrame, 14, 14 + ipLen + 8);
    byte[] h = new byte[8 + inner.length];
    h[0] = (byte) type;
    h[1] = (byte) code;
    System.arraycopy(inner, 0, h, 8, inner.length);
    return h;
  }

  public static byte[] ipv4(String src, String dst, int protocol, byte[] l4) {
    return ipv4(src, dst, protocol, 0x4000, 1, l4);
  }

  /** IPv4 with explicit flags+fragment offset field (e.g. 0x2000 = more fragments). */
  public static byte[] ipv4(
      String src, String dst, int protocol, int fragField, int id, byte[] l4) {
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
  public static byte[] ipv6(String src, String dst, int protocol, boolean hopByHop, byte[] l4) {
    return ipv6(src, dst, protocol, hopByHop, 64, l4);
  }

  /** IPv6 with a given hop limit. */
  public static byte[] ipv6(
      String src, String dst, int protocol, boolean hopByHop, int hopLimit, byte[] l4) {
    byte[] ext = hopByHop ? new byte[8] : new byte[0];
    if (hopByHop) {
      ext[0] = (byte) protocol;
      ext[1] = 0; // 8 bytes
      ext[2] = 1; // PadN
      ext[3] = 4;
    }
    return ipv6Raw(src, dst, hopByHop ? 0 : protocol, hopLimit, concat(ext, l4));
  }

  /**
   * An IPv6 fragment: a fragment header (offset in 8-byte units, more-fragments flag,
   * identification) before {@code payload}.
   */
  public static byte[] ipv6Fragment(
      String src, String dst, int protocol, int offset, boolean more, int id, byte[] payload) {
    byte[] frag = new byte[8];
    frag[0] = (byte) protocol;
    int field = (offset << 3) | (more ? 1 : 0);
    port(frag, 2, field);
    frag[4] = (byte) (id >>> 24);
    frag[5] = (byte) (id >>> 16);
    frag[6] = (byte) (id >>> 8);
    frag[7] = (byte) id;
    return ipv6Raw(src, dst, 44, 64, concat(frag, payload));
  }

  /** An IPv6 extension header of 8 bytes: next header, length 0, then {@code rest} (6 bytes). */
  public static byte[] ext8(int next, int... rest) {
    byte[] h = new byte[8];
    h[0] = (byte) next;
    for (int i = 0; i < rest.length && i < 6; i++) {
      h[2 + i] = (byte) rest[i];
    }
    return h;
  }

  /** A frame with another IPv6 payload length (what the header claims, not what it carries). */
  public static byte[] withIpv6PayloadLength(byte[] frame, int length) {
    byte[] f = frame.clone();
    port(f, 14 + 4, length);
    return f;
  }

  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** IPv6 with {@code payload} (extension headers and L4, as given) after the fixed header. */
  public static byte[] ipv6Raw(String src, String dst, int next, int hopLimit, byte[] payload) {
    byte[] ip = new byte[40];
    ip[0] = 0x60;
    port(ip, 4, payload.length);
    ip[6] = (byte) next;
    ip[7] = (byte) hopLimit;
    System.arraycopy(addr(src), 0, ip, 8, 16);
    System.arraycopy(addr(dst), 0, ip, 24, 16);
    return frame(0x86DD, ip, payload);
  }

  /** An IPv4 frame with another TTL (and its header checksum fixed). */
  public static byte[] withTtl(byte[] frame, int ttl) {
    byte[] f = frame.clone();
    f[14 + 8] = (byte) ttl;
    checksum(f, 14);
    return f;
  }

  /** True when the IPv4 header at offset 14 of a frame has a valid checksum. */
  public static boolean checksumValid(byte[] frame) {
    return sum(frame, 14) == 0xFFFF;
  }

  /** The frame as the pod sends it: source MAC the pod's, destination the host side's. */
  public static byte[] fromPod(byte[] frame) {
    return withMacs(frame, POD_MAC, HOST_MAC);
  }

  public static byte[] withMacs(byte[] frame, byte[] src, byte[] dst) {
    byte[] f = frame.clone();
    System.arraycopy(dst, 0, f, 0, 6);
    System.arraycopy(src, 0, f, 6, 6);
    return f;
  }

  /** An ARP request (sender MAC and IP, target IP). */
  public static byte[] arp(byte[] senderMac, String senderIp, String targetIp) {
    byte[] a = new byte[28];
    port(a, 0, 1); // Ethernet
    port(a, 2, 0x0800); // IPv4
    a[4] = 6;
    a[5] = 4;
    port(a, 6, 1); // request
    System.arraycopy(senderMac, 0, a, 8, 6);
    System.arraycopy(addr(senderIp), 0, a, 14, 4);
    System.arraycopy(addr(targetIp), 0, a, 24, 4);
    byte[] f = frame(0x0806, a, new byte[0]);
    System.arraycopy(new byte[] {-1, -1, -1, -1, -1, -1}, 0, f, 0, 6);
    System.arraycopy(senderMac, 0, f, 6, 6);
    return f;
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

  private static byte[] frame(int ethertype, byte[] l3, byte[] l4) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(POD_MAC);
    out.writeBytes(HOST_MAC);
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

  public static byte[] addr(String a) {
    try {
      return InetAddress.getByName(a).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(a, e);
    }
  }
}
