package io.porin.dns.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsResponseCode;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Decodes UDP queries; one that cannot be read is answered FORMERR when its header can be (RFC 1035
 * 4.1.1), and dropped when not even that, or when it is a response.
 */
final class ForgivingDatagramDecoder extends DatagramDnsQueryDecoder {
  private static final Logger LOG = Logger.getLogger(ForgivingDatagramDecoder.class);
  private static final int HEADER = 12;

  private final QueryCounter counter;

  ForgivingDatagramDecoder(QueryCounter counter) {
    this.counter = counter;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, DatagramPacket packet, List<Object> out) {
    ByteBuf b = packet.content();
    int start = b.readerIndex();
    try {
      super.decode(ctx, packet, out);
    } catch (Exception e) {
      if (b.writerIndex() - start < HEADER) {
        return;
      }
      int id = b.getUnsignedShort(start);
      int flags = b.getUnsignedShort(start + 2);
      if ((flags & 0x8000) != 0) {
        return;
      }
      LOG.debugf("unreadable query from %s: %s", packet.sender(), e.getMessage());
      DatagramDnsResponse r =
          new DatagramDnsResponse(
              packet.recipient(),
              packet.sender(),
              id,
              DnsOpCode.valueOf((flags >> 11) & 0xf),
              DnsResponseCode.FORMERR);
      r.setRecursionDesired((flags & 0x100) != 0);
      counter.answered(io.porin.dns.zone.Rcode.FORMERR);
      ctx.writeAndFlush(r);
    }
  }
}
