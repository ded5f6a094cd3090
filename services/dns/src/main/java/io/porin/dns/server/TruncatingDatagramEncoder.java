package io.porin.dns.server;

import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsSection;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Encodes UDP responses, and sends one that does not fit the client's size with the TC bit and only
 * its question (and OPT record) instead, so that the client asks again over TCP (RFC 1035 4.2.1,
 * RFC 6891 7).
 */
final class TruncatingDatagramEncoder extends DatagramDnsResponseEncoder {
  @Override
  protected void encode(
      ChannelHandlerContext ctx,
      AddressedEnvelope<DnsResponse, InetSocketAddress> in,
      List<Object> out)
      throws Exception {
    super.encode(ctx, in, out);
    if (!((Object) in instanceof UdpLimitedResponse r) || out.isEmpty()) {
      return;
    }
    DatagramPacket packet = (DatagramPacket) out.getLast();
    if (packet.content().readableBytes() <= r.limit()) {
      return;
    }
    out.removeLast();
    packet.release();
    DatagramDnsResponse truncated =
        new DatagramDnsResponse(r.sender(), r.recipient(), r.id(), r.opCode(), r.code());
    try {
      truncated.setAuthoritativeAnswer(r.isAuthoritativeAnswer());
      truncated.setRecursionDesired(r.isRecursionDesired());
      truncated.setTruncated(true);
      for (int i = 0; i < r.count(DnsSection.QUESTION); i++) {
        truncated.addRecord(DnsSection.QUESTION, r.recordAt(DnsSection.QUESTION, i));
      }
      for (int i = 0; i < r.count(DnsSection.ADDITIONAL); i++) {
        DnsRecord rec = r.recordAt(DnsSection.ADDITIONAL, i);
        if (rec.type() == DnsRecordType.OPT) {
          truncated.addRecord(DnsSection.ADDITIONAL, Responses.opt());
        }
      }
      super.encode(ctx, envelope(truncated), out);
    } finally {
      truncated.release();
    }
  }

  @SuppressWarnings("unchecked")
  private static AddressedEnvelope<DnsResponse, InetSocketAddress> envelope(DatagramDnsResponse r) {
    return (AddressedEnvelope<DnsResponse, InetSocketAddress>) (Object) r;
  }
}
