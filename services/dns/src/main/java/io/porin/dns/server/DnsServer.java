package io.porin.dns.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.dns.TcpDnsQueryDecoder;
import io.netty.handler.codec.dns.TcpDnsResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.porin.dns.zone.DnsZone;
import io.porin.dns.zone.Resolver;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The DNS server: UDP and TCP on one port, on every configured address, on its own Netty event
 * loops. UDP answers that do not fit are truncated (TC) so clients retry over TCP.
 */
public final class DnsServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DnsServer.class);
  private static final String ANY_V6 = "::";
  private static final String ANY_V4 = "0.0.0.0";

  /** Where and how to serve. */
  public record Settings(List<String> bind, int port, Duration tcpIdleTimeout, int ioThreads) {}

  private final Settings settings;
  private final DnsQueryHandler handler;
  private final QueryCounter counter;
  private final List<Channel> channels = new ArrayList<>();
  private EventLoopGroup group;
  private volatile boolean bound;

  public DnsServer(
      Settings settings, Supplier<DnsZone> zone, Resolver resolver, QueryCounter counter) {
    this.settings = settings;
    this.counter = counter;
    this.handler = new DnsQueryHandler(zone, resolver, counter);
  }

  /**
   * Binds UDP and TCP on every address.
   *
   * @throws IllegalStateException naming the address when one cannot be bound
   */
  public synchronized void start() {
    group = new NioEventLoopGroup(settings.ioThreads(), new DefaultThreadFactory("porin-dns"));
    try {
      for (String address : settings.bind()) {
        try {
          bind(address);
        } catch (IllegalStateException e) {
          if (!address.equals(ANY_V6) || e.getCause() instanceof BindException) {
            throw e;
          }
          // IPv6 is off on this host: serve every IPv4 address instead.
          LOG.warnf("cannot serve on [::] (%s); serving on 0.0.0.0", e.getCause());
          bind(ANY_V4);
        }
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    bound = true;
  }

  /** Whether every socket is bound. */
  public boolean bound() {
    return bound;
  }

  /** The bound addresses (UDP and TCP of each), for tests and logs. */
  public synchronized List<InetSocketAddress> addresses() {
    return channels.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
  }

  private void bind(String address) {
    InetSocketAddress at = new InetSocketAddress(InetAddress.ofLiteral(address), settings.port());
    Bootstrap udp =
        new Bootstrap()
            .group(group)
            .channel(NioDatagramChannel.class)
            .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(4096))
            .handler(
                new ChannelInitializer<NioDatagramChannel>() {
                  @Override
                  protected void initChannel(NioDatagramChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new TruncatingDatagramEncoder(),
                            new ForgivingDatagramDecoder(counter),
                            handler);
                  }
                });
    ServerBootstrap tcp =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    long idle = settings.tcpIdleTimeout().toMillis();
                    ch.pipeline()
                        .addLast(
                            new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS),
                            new TcpDnsQueryDecoder(),
                            new TcpDnsResponseEncoder(),
                            handler);
                  }
                });
    channels.add(await(udp.bind(at), "udp", at));
    channels.add(await(tcp.bind(at), "tcp", at));
    LOG.infof("serving DNS on %s (udp, tcp)", at);
  }

  private static Channel await(io.netty.channel.ChannelFuture f, String what, Object at) {
    f.awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw new IllegalStateException(
          "cannot serve DNS (" + what + ") on " + at + ": " + f.cause().getMessage(), f.cause());
    }
    return f.channel();
  }

  @Override
  public synchronized void close() {
    bound = false;
    for (Channel c : channels) {
      c.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    channels.clear();
    if (group != null) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      group = null;
    }
  }
}
