package io.porin.dns.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.porin.dns.zone.ResourceRecord;
import java.nio.charset.StandardCharsets;

/** The resolver's records as Netty's: raw records whose data this class writes (RFC 1035 3.3). */
final class WireRecords {
  private WireRecords() {}

  /** The record on the wire, class IN. */
  static DnsRecord of(ResourceRecord r) {
    ByteBuf data = Unpooled.buffer();
    switch (r) {
      case ResourceRecord.Address a -> data.writeBytes(a.address().getAddress());
      case ResourceRecord.Srv s -> {
        data.writeShort(s.priority());
        data.writeShort(s.weight());
        data.writeShort(s.port());
        writeName(s.target(), data);
      }
      case ResourceRecord.Soa s -> {
        writeName(s.mname(), data);
        writeName(s.rname(), data);
        data.writeInt((int) s.serial());
        data.writeInt(s.refresh());
        data.writeInt(s.retry());
        data.writeInt(s.expire());
        data.writeInt(s.minimum());
      }
      case ResourceRecord.Ns n -> writeName(n.host(), data);
      case ResourceRecord.Ptr p -> writeName(p.host(), data);
    }
    return new DefaultDnsRawRecord(
        r.name(), DnsRecordType.valueOf(r.type()), DnsRecord.CLASS_IN, r.ttl(), data);
  }

  /** An absolute name, uncompressed. */
  static void writeName(String name, ByteBuf out) {
    if (!name.isEmpty() && !name.equals(".")) {
      for (String label : name.split("\\.")) {
        byte[] b = label.getBytes(StandardCharsets.US_ASCII);
        if (b.length == 0 || b.length > 63) {
          throw new IllegalArgumentException("not a DNS name: " + name);
        }
        out.writeByte(b.length);
        out.writeBytes(b);
      }
    }
    out.writeByte(0);
  }
}
