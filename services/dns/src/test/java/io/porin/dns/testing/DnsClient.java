package io.porin.dns.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.dns.DefaultDnsQuery;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsPtrRecord;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.handler.codec.dns.TcpDnsQueryEncoder;
import io.netty.handler.codec.dns.TcpDnsResponseDecoder;
import io.porin.dns.zone.AddressNames;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A blocking DNS client for tests: queries built with Netty's encoders, sent over a real UDP or TCP
 * socket to 127.0.0.1, responses decoded with Netty's decoder and rendered as {@code owner TYPE
 * data} lines.
 */
public final class DnsClient {
  private DnsClient() {}

  /**
   * A response.
   *
   * @param size the response's length on the wire
   */
  public record Answer(
      int id,
      int rcode,
      boolean authoritative,
      boolean truncated,
      int size,
      List<String> answers,
      List<String> authority,
      List<String> additional) {}

  /** A query over UDP, without EDNS0. */
  public static Answer udp(int port, String name, DnsRecordType type) {
    return udp(port, name, type, 0);
  }

  /** A query over UDP, with an OPT record of that payload size when it is positive. */
  public static Answer udp(int port, String name, DnsRecordType type, int ednsSize) {
    byte[] query = encode(name, type, ednsSize);
    byte[] response = udpRaw(port, query);
    if (response == null) {
      throw new AssertionError("no UDP answer for " + name + " " + type);
    }
    return decode(response);
  }

  /** A query over TCP. */
  public static Answer tcp(int port, String name, DnsRecordType type) {
    byte[] query = encode(name, type, 0);
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(new byte[] {(byte) (query.length >> 8), (byte) query.length});
      out.write(query);
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte[] response = new byte[in.readUnsignedShort()];
      in.readFully(response);
      return decode(response);
    } catch (IOException e) {
      throw new AssertionError("TCP query for " + name + " failed", e);
    }
  }

  /** Raw bytes over UDP; the response's bytes, or null when none came within a second. */
  public static byte[] udpRaw(int port, byte[] query) {
    try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
      s.setSoTimeout(1000);
      s.send(
          new DatagramPacket(
              query, query.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), port)));
      DatagramPacket p = new DatagramPacket(new byte[65535], 65535);
      try {
        s.receive(p);
      } catch (SocketTimeoutException e) {
        return null;
      }
      byte[] b = new byte[p.getLength()];
      System.arraycopy(p.getData(), 0, b, 0, b.length);
      return b;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A standard query's bytes (without the TCP length prefix). */
  public static byte[] encode(String name, DnsRecordType type, int ednsSize) {
    DnsQuery q = new DefaultDnsQuery(ThreadLocalRandom.current().nextInt(1 << 16), DnsOpCode.QUERY);
    q.setRecursionDesired(true);
    q.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(name, type));
    if (ednsSize > 0) {
      q.addRecord(
          DnsSection.ADDITIONAL,
          new DefaultDnsRawRecord("", DnsRecordType.OPT, ednsSize, 0, Unpooled.EMPTY_BUFFER));
    }
    EmbeddedChannel ch = new EmbeddedChannel(new TcpDnsQueryEncoder());
    ch.writeOutbound(q);
    ByteBuf framed = ch.readOutbound();
    try {
      framed.skipBytes(2);
      return ByteBufUtil.getBytes(framed);
    } finally {
      framed.release();
      ch.finishAndReleaseAll();
    }
  }

  /** A response's bytes, decoded. */
  public static Answer decode(byte[] bytes) {
    EmbeddedChannel ch = new EmbeddedChannel(new TcpDnsResponseDecoder());
    ByteBuf framed = Unpooled.buffer(bytes.length + 2);
    framed.writeShort(bytes.length).writeBytes(bytes);
    ch.writeInbound(framed);
    DnsResponse r = ch.readInbound();
    try {
      return new Answer(
          r.id(),
          r.code().intValue(),
          r.isAuthoritativeAnswer(),
          r.isTruncated(),
          bytes.length,
          section(r, DnsSection.ANSWER),
          section(r, DnsSection.AUTHORITY),
          section(r, DnsSection.ADDITIONAL));
    } finally {
      r.release();
      ch.finishAndReleaseAll();
    }
  }

  private static List<String> section(DnsResponse r, DnsSection section) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < r.count(section); i++) {
      out.add(text(r.recordAt(section, i)));
    }
    return out;
  }

  private static String text(DnsRecord r) {
    String head = r.name() + " " + r.type().name() + " ";
    if (r instanceof DnsPtrRecord p) {
      return head + p.hostname();
    }
    if (r.type() == DnsRecordType.OPT) {
      return ". OPT " + r.dnsClass();
    }
    ByteBuf d = ((DnsRawRecord) r).content().duplicate();
    try {
      if (r.type() == DnsRecordType.A || r.type() == DnsRecordType.AAAA) {
        return head + AddressNames.text(InetAddress.getByAddress(ByteBufUtil.getBytes(d)));
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    if (r.type() == DnsRecordType.SRV) {
      return head
          + d.readUnsignedShort()
          + " "
          + d.readUnsignedShort()
          + " "
          + d.readUnsignedShort()
          + " "
          + name(d);
    }
    if (r.type() == DnsRecordType.SOA) {
      String mname = name(d);
      String rname = name(d);
      long serial = d.readUnsignedInt();
      d.skipBytes(12);
      return head + mname + " " + rname + " " + serial + " " + d.readUnsignedInt();
    }
    if (r.type() == DnsRecordType.NS) {
      return head + name(d);
    }
    return head + ByteBufUtil.hexDump(d);
  }

  /** An uncompressed name, as this server writes them. */
  private static String name(ByteBuf d) {
    StringBuilder s = new StringBuilder();
    for (int len = d.readUnsignedByte(); len > 0; len = d.readUnsignedByte()) {
      s.append(d.readCharSequence(len, StandardCharsets.US_ASCII)).append('.');
    }
    return s.isEmpty() ? "." : s.toString();
  }
}
