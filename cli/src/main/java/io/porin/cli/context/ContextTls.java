package io.porin.cli.context;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * How the CLI reaches a context's services: mutual TLS 1.3 with the context's certificate, checking
 * that each server proves the identity it must have ({@code svc/policy}, a node's agent), or
 * plaintext for a context set with {@code --insecure}.
 */
public final class ContextTls {
  private ContextTls() {}

  /** The context's TLS; empty for an insecure context. Fails naming what is missing. */
  public static Optional<ClusterTls> of(Contexts.Context c) {
    if (c.isInsecure()) {
      return Optional.empty();
    }
    if (c.ca() == null || c.cert() == null) {
      throw new IllegalArgumentException(
          "the context has no certificate: the control plane only speaks mutual TLS (porin"
              + " context set NAME --ca CA --cert CERT; a lab's context has them)");
    }
    Path cert = Path.of(c.cert());
    return Optional.of(
        ClusterTls.load(Path.of(c.ca()), cert, c.key() == null ? cert : Path.of(c.key())));
  }

  /** Who a service's server must be. */
  public static Predicate<PeerIdentity> server(String service) {
    return service.equals("agent")
        ? id -> id.kind() == PeerIdentity.Kind.NODE
        : ClusterTls.exactly(PeerIdentity.service(service));
  }

  /**
   * A channel to {@code target}, whose server must be {@code service}'s; for an agent whose node
   * the context knows (a lab's context knows every node's), exactly that node's agent.
   */
  public static ManagedChannel channel(Contexts.Context c, String target, String service) {
    if (!reuse) {
      return newChannel(c, target, service);
    }
    Key key = new Key(c, fingerprint(c), target, service);
    if (CHANNELS.size() >= MAX_KEPT && !CHANNELS.containsKey(key)) {
      // bounded: contexts and their nodes come and go; start again rather than grow
      CHANNELS.values().forEach(ManagedChannel::shutdown);
      CHANNELS.clear();
    }
    return new Kept(CHANNELS.computeIfAbsent(key, k -> newChannel(c, target, service)));
  }

  /** A kept channel's key: the context, its certificate files as they are now, the server. */
  private record Key(Contexts.Context context, String files, String target, String service) {}

  private static final int MAX_KEPT = 64;

  /** The certificate files' sizes and times: a renewed or reissued file is a new channel. */
  private static String fingerprint(Contexts.Context c) {
    StringBuilder b = new StringBuilder();
    for (String f : java.util.Arrays.asList(c.ca(), c.cert(), c.key())) {
      if (f == null) {
        b.append("-;");
        continue;
      }
      try {
        var attrs =
            java.nio.file.Files.readAttributes(
                java.nio.file.Path.of(f), java.nio.file.attribute.BasicFileAttributes.class);
        b.append(attrs.size()).append('@').append(attrs.lastModifiedTime().toMillis()).append(';');
      } catch (java.io.IOException e) {
        b.append("missing;");
      }
    }
    return b.toString();
  }

  private static volatile boolean reuse;
  private static final Map<Key, ManagedChannel> CHANNELS = new ConcurrentHashMap<>();
  private static final Map<String, HttpClient> HTTP = new ConcurrentHashMap<>();

  /**
   * From now on, keep channels and HTTP clients (by context, target and server identity) for later
   * commands instead of closing them: the lab's command server, whose commands then make no TLS
   * handshakes. A kept channel's shutdown does nothing.
   */
  public static void reuseChannels() {
    reuse = true;
  }

  /** Whether channels and HTTP clients are kept ({@link #reuseChannels}). */
  public static boolean reusing() {
    return reuse;
  }

  /** A kept channel as a command sees it: closing it leaves it open for the next command. */
  private static final class Kept extends ManagedChannel {
    private final ManagedChannel channel;

    Kept(ManagedChannel channel) {
      this.channel = channel;
    }

    @Override
    public <Q, R> io.grpc.ClientCall<Q, R> newCall(
        io.grpc.MethodDescriptor<Q, R> method, io.grpc.CallOptions options) {
      return channel.newCall(method, options);
    }

    @Override
    public String authority() {
      return channel.authority();
    }

    @Override
    public ManagedChannel shutdown() {
      return this;
    }

    @Override
    public ManagedChannel shutdownNow() {
      return this;
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  private static ManagedChannel newChannel(Contexts.Context c, String target, String service) {
    return NettyChannelBuilder.forTarget(target, credentials(c, target, service))
        .eventLoopGroup(loop())
        .channelType(NioSocketChannel.class)
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  private static EventLoopGroup loop;

  /**
   * The one I/O thread of this command's channels. It is this class's, not gRPC's shared one, so
   * that {@link #shutdown} can end it: a JVM exits only after waiting up to 300 ms for threads
   * blocked in native code, such as an event loop's {@code epoll_wait}.
   */
  private static synchronized EventLoopGroup loop() {
    if (loop == null) {
      skipBouncyCastleProbe();
      loop = new NioEventLoopGroup(1, new DefaultThreadFactory("porin-io", true));
    }
    return loop;
  }

  /**
   * Tells Netty not to look for Bouncy Castle's TLS engine. Netty probes for it on the first TLS
   * engine it makes and, finding Bouncy Castle's provider on the class path (the CA uses it),
   * constructs one, which computes every named curve: about a fifth of a second of a short command,
   * for an engine the CLI never uses (its TLS is the JDK's). The probe's guard is a private field;
   * if a Netty version has none, the probe just runs.
   */
  private static void skipBouncyCastleProbe() {
    try {
      java.lang.reflect.Field f =
          Class.forName("io.netty.handler.ssl.util.BouncyCastleUtil")
              .getDeclaredField("attemptedLoading");
      f.setAccessible(true);
      f.setBoolean(null, true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // slower, not wrong
    }
  }

  /** Ends the I/O thread, when there is one (the command's channels are closed). */
  public static synchronized void shutdown() {
    if (loop != null) {
      loop.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(1_000);
      loop = null;
    }
  }

  private static ChannelCredentials credentials(Contexts.Context c, String target, String service) {
    Optional<ClusterTls> tls = of(c);
    if (tls.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    Predicate<PeerIdentity> expected = server(service);
    String expectation = expectation(service);
    if (service.equals("agent") && c.nodes() != null) {
      for (var e : c.nodes().entrySet()) {
        if (e.getValue().equals(target) && !e.getKey().isEmpty()) {
          expected = ClusterTls.exactly(PeerIdentity.node(e.getKey()));
          expectation = "node/" + e.getKey();
        }
      }
    }
    return TlsChannelCredentials.newBuilder()
        .keyManager(tls.get().keyManager())
        .trustManager(tls.get().serverTrust(expected, expectation))
        .build();
  }

  private static String expectation(String service) {
    return service.equals("agent") ? "a node's agent" : "svc/" + service;
  }

  /** An HTTPS client for the services' health endpoints (any service or agent of the cluster). */
  public static HttpClient http(Contexts.Context c) {
    if (!reuse) {
      return newHttp(c);
    }
    String key = c + "|" + fingerprint(c);
    if (HTTP.size() >= MAX_KEPT && !HTTP.containsKey(key)) {
      HTTP.values().forEach(HttpClient::shutdown);
      HTTP.clear();
    }
    return HTTP.computeIfAbsent(key, k -> newHttp(c));
  }

  private static HttpClient newHttp(Contexts.Context c) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
    of(c)
        .ifPresent(
            t ->
                b.sslContext(
                    t.clientContext(
                        id ->
                            id.kind() == PeerIdentity.Kind.SERVICE
                                || id.kind() == PeerIdentity.Kind.NODE,
                        "a service or agent of the cluster")));
    return b.build();
  }

  /** {@code https} or {@code http}, as the context speaks. */
  public static String scheme(Contexts.Context c) {
    return c.isInsecure() ? "http" : "https";
  }
}
