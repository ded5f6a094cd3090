package io.porin.agent.bpf.maps;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import io.porin.agent.bpf.MapLayouts;
import io.porin.core.ipam.Cidr;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Field access for the map codecs, derived from {@link MapLayouts}: a VarHandle per scalar field
 * (coordinates: a segment over the byte array, offset 0) and the offset of each byte-array field. A
 * misspelt field name fails when the codec class loads, not at the first write.
 */
final class Fields {
  private Fields() {}

  /** A scalar field's handle, with the segment as its only coordinate. */
  static VarHandle scalar(StructLayout layout, String field) {
    return MethodHandles.insertCoordinates(layout.varHandle(groupElement(field)), 1, 0L);
  }

  /** A byte-array field's offset. */
  static long bytes(StructLayout layout, String field) {
    return layout.byteOffset(groupElement(field));
  }

  static MemorySegment segment(byte[] b) {
    return MemorySegment.ofArray(b);
  }

  static byte[] buffer(StructLayout layout) {
    return new byte[(int) layout.byteSize()];
  }

  static void put(byte[] b, long offset, byte[] value) {
    System.arraycopy(value, 0, b, (int) offset, value.length);
  }

  static byte[] get(byte[] b, long offset, int length) {
    byte[] out = new byte[length];
    System.arraycopy(b, (int) offset, out, 0, length);
    return out;
  }

  static int familyOf(Cidr.Family f) {
    return f == Cidr.Family.IPV4 ? MapLayouts.FAMILY_IPV4 : MapLayouts.FAMILY_IPV6;
  }

  static Cidr.Family family(int kernelFamily) {
    return kernelFamily == MapLayouts.FAMILY_IPV4 ? Cidr.Family.IPV4 : Cidr.Family.IPV6;
  }

  /** An address in a 16-byte field: network order, IPv4 in the first four bytes. */
  static byte[] address(Cidr.Family family, BigInteger address) {
    int len = family == Cidr.Family.IPV4 ? 4 : 16;
    byte[] raw = address.toByteArray();
    byte[] out = new byte[16];
    for (int i = 0; i < len; i++) {
      int src = raw.length - len + i;
      out[i] = src >= 0 ? raw[src] : 0;
    }
    return out;
  }

  /** An address text (either family) in network order: 4 or 16 bytes. */
  static byte[] address(String text) {
    try {
      return InetAddress.ofLiteral(text).getAddress();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not an IP address", e);
    }
  }

  static String addressText(byte[] raw) {
    try {
      return InetAddress.getByAddress(raw).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }

  static Cidr cidr(int kernelFamily, byte[] addr16, int prefixLength) {
    int len = kernelFamily == MapLayouts.FAMILY_IPV4 ? 4 : 16;
    byte[] raw = new byte[len + 1];
    System.arraycopy(addr16, 0, raw, 1, len);
    return new Cidr(family(kernelFamily), new BigInteger(raw), prefixLength);
  }

  /** An address read from a 16-byte field. */
  static BigInteger addressOf(Cidr.Family family, byte[] addr16) {
    int len = family == Cidr.Family.IPV4 ? 4 : 16;
    byte[] raw = new byte[len + 1];
    System.arraycopy(addr16, 0, raw, 1, len);
    return new BigInteger(raw);
  }

  static byte[] mac(String mac) {
    byte[] out = new byte[6];
    if (mac == null || mac.isEmpty()) {
      return out;
    }
    String[] parts = mac.split(":");
    if (parts.length != 6) {
      throw new IllegalArgumentException("\"" + mac + "\" is not a MAC address");
    }
    for (int i = 0; i < 6; i++) {
      out[i] = (byte) Integer.parseInt(parts[i], 16);
    }
    return out;
  }

  static String macText(byte[] b) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      sb.append(i == 0 ? "" : ":").append(String.format("%02x", b[i] & 0xFF));
    }
    return sb.toString();
  }

  static byte[] intKey(int v) {
    byte[] k = new byte[4];
    MemorySegment.ofArray(k).set(ValueLayout.JAVA_INT_UNALIGNED, 0, v);
    return k;
  }

  static int intOf(byte[] b) {
    return MemorySegment.ofArray(b).get(ValueLayout.JAVA_INT_UNALIGNED, 0);
  }
}
