package io.porin.dns.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.dns.DnsQuery;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.timeout.IdleStateEvent;
import io.porin.dns.zone.DnsZone;
import io.porin.dns.zone.Rcode;
import io.porin.dns.zone.Resolution;
import io.porin.dns.zone.Resolver;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Answers each decoded query from the current zone, on the event loop (a lookup is a few map reads
 * on an immutable zone). An unexpected failure is answered SERVFAIL, never left to Netty.
 */
@ChannelHandler.Sharable
final class DnsQueryHandler extends SimpleChannelInboundHandler<DnsQuery> {
  private static final Logger LOG = Logger.getLogger(DnsQueryHandler.class);

  private final Supplier<DnsZone> zone;
  private final Resolver resolver;
  private final QueryCounter counter;

  DnsQueryHandler(Supplier<DnsZone> zone, Resolver resolver, QueryCounter counter) {
    this.zone = zone;
    this.resolver = resolver;
    this.counter = counter;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, DnsQuery query) {
    DnsResponse response;
    Rcode rcode;
    try {
      Resolution res = resolver.resolve(zone.get(), Responses.query(query));
      response = Responses.of(query, res);
      rcode = res.rcode();
    } catch (RuntimeException e) {
      LOG.warnf(e, "query %s failed", query);
      response = Responses.responseTo(query, DnsResponseCode.SERVFAIL, null);
      rcode = Rcode.SERVFAIL;
    }
    counter.answered(rcode);
    ctx.writeAndFlush(response);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      ctx.close();
    } else {
      super.userEventTriggered(ctx, evt);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // UDP: one bad datagram, the socket serves on. TCP: the stream cannot be trusted; close it.
    LOG.debugf("DNS channel %s: %s", ctx.channel(), cause.toString());
    if (ctx.channel() instanceof io.netty.channel.socket.SocketChannel) {
      ctx.close();
    }
  }
}
