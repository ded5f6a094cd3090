package io.porin.cli.server;

import io.porin.cli.Env;
import io.porin.cli.Main;
import io.porin.cli.PorinCommand;
import io.porin.cli.client.Client;
import io.porin.cli.client.Protocol;
import io.porin.cli.context.Contexts;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * A lab's command server: a warm JVM in the lab's control-plane namespace that runs the read-only
 * commands users repeat while debugging ({@link #SERVED}) for {@code porin} clients, over a unix
 * socket in the lab's state directory. A command run here is the same code with the client's
 * arguments and environment ({@link Env}); its output and exit code go back to the client. Such a
 * command answers in a fraction of the time a JVM of its own takes to start, load its classes and
 * make its first TLS handshake.
 *
 * <p>The socket is its owner's only (mode 0600, in {@code /run/porin/cli}, a directory only root
 * may enter and no container of a lab mounts) and every caller is checked ({@code SO_PEERCRED}): a
 * process of another user is refused. Arguments are taken as they are (no {@code @file}), parsed
 * once, and the parse that was checked is the one that runs. A caller gets nothing it could not get
 * by running {@code porin} itself with the same context file: the server reads the client's context
 * file and uses its certificate. It declines, and the client runs the command in a JVM of its own,
 * when the command is not one it runs, the context is not reached through this lab's namespace, or
 * the client is another build of Porin.
 */
public final class CommandServer {
  private CommandServer() {}

  /** The commands (and subcommands) served; everything else runs in a JVM of its own. */
  static final Set<String> SERVED =
      Set.of(
          "status",
          "get",
          "identity list",
          "identity get",
          "policy list",
          "policy get",
          "policy trace",
          "endpoint list",
          "service list",
          "bpf lb list",
          "bpf policy get",
          "ipam list",
          "encrypt status",
          "observe",
          "audit log");

  public static void main(String[] args) throws IOException {
    Path socket = null;
    String netns = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--socket" -> socket = Path.of(args[i + 1]);
        case "--netns" -> netns = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (socket == null || netns == null) {
      throw new IllegalArgumentException("usage: CommandServer --socket PATH --netns NAME");
    }
    io.porin.cli.context.ContextTls.reuseChannels();
    Env.serverOnly();
    Running server = open(socket, netns, Client.build(ownJar()));
    System.out.println(
        "porin command server on "
            + socket
            + " (namespace "
            + netns
            + ", build "
            + server.build()
            + ")");
    server.serve();
  }

  /**
   * Binds the socket (mode 0600; a stale file of an earlier server is replaced) for a server that
   * runs the commands of contexts reached through {@code netns}, for clients of {@code build}.
   */
  static Running open(Path socket, String netns, String build) throws IOException {
    Files.deleteIfExists(socket);
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    return new Running(server, Files.getOwner(socket), netns, build);
  }

  private static Path ownJar() {
    try {
      return Path.of(
          CommandServer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The served command path of a parse ({@code "identity list"}), or null when it is not one. */
  static String servedPath(ParseResult parsed) {
    List<String> names = new ArrayList<>();
    for (ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
      if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) {
        return null;
      }
      if (p != parsed) {
        names.add(p.commandSpec().name());
      }
    }
    for (int n = names.size(); n > 0; n--) {
      String path = String.join(" ", names.subList(0, n));
      if (SERVED.contains(path)) {
        return path;
      }
    }
    return null;
  }

  /** The most connections served at once; more wait for a free one. */
  static final int MAX_CONNECTIONS = 32;

  /** How long a client may take to send its request. */
  static final long REQUEST_MILLIS = 5_000;

  /** The command a request names, parsed once: what is checked is what runs. */
  record Decision(String declined, CommandLine commandLine, ParseResult parsed) {}

  /** A bound server. */
  record Running(
      ServerSocketChannel server,
      UserPrincipal owner,
      String netns,
      String build,
      java.util.concurrent.Semaphore slots,
      java.util.concurrent.atomic.AtomicLong refused)
      implements AutoCloseable {

    Running(ServerSocketChannel server, UserPrincipal owner, String netns, String build) {
      this(
          server,
          owner,
          netns,
          build,
          new java.util.concurrent.Semaphore(MAX_CONNECTIONS),
          new java.util.concurrent.atomic.AtomicLong());
    }

    /** Accepts connections until the socket is closed. */
    void serve() throws IOException {
      while (true) {
        SocketChannel ch;
        try {
          slots.acquireUninterruptibly();
          ch = server.accept();
        } catch (java.nio.channels.ClosedChannelException e) {
          return;
        }
        Thread.ofPlatform()
            .daemon()
            .name("porin-command")
            .start(
                () -> {
                  try {
                    connection(ch);
                  } finally {
                    slots.release();
                  }
                });
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }

    private void connection(SocketChannel ch) {
      try (ch) {
        UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
        if (!peer.user().equals(owner)) {
          refused.incrementAndGet();
          System.out.println("refused a caller of user " + printable(peer.user().getName()));
          return;
        }
        Protocol.Request request = readRequest(ch);
        Frames frames = new Frames(ch);
        Decision d = decide(request);
        if (d.declined() != null) {
          frames.send(Protocol.DECLINED, d.declined().getBytes(StandardCharsets.UTF_8));
          return;
        }
        run(ch, frames, request, d);
      } catch (IOException | RuntimeException e) {
        System.out.println("a connection failed: " + printable(String.valueOf(e)));
      }
    }

    /** The request, at most {@link Protocol#MAX_REQUEST} bytes, sent within a few seconds. */
    private static Protocol.Request readRequest(SocketChannel ch) throws IOException {
      var late =
          TIMEOUTS.schedule(
              () -> {
                try {
                  ch.close();
                } catch (IOException ignored) {
                  // closing is all that is left to do
                }
              },
              REQUEST_MILLIS,
              java.util.concurrent.TimeUnit.MILLISECONDS);
      try {
        java.io.InputStream bounded =
            new java.io.FilterInputStream(Channels.newInputStream(ch)) {
              private long left = Protocol.MAX_REQUEST;

              @Override
              public int read() throws IOException {
                if (left <= 0) {
                  throw new IOException("a request over " + Protocol.MAX_REQUEST + " bytes");
                }
                left--;
                return super.read();
              }

              @Override
              public int read(byte[] b, int off, int len) throws IOException {
                if (left <= 0) {
                  throw new IOException("a request over " + Protocol.MAX_REQUEST + " bytes");
                }
                int n = super.read(b, off, (int) Math.min(len, left));
                if (n > 0) {
                  left -= n;
                }
                return n;
              }
            };
        return Protocol.Request.read(new DataInputStream(bounded));
      } finally {
        late.cancel(false);
      }
    }

    /** Parses the request's command once and says whether this server runs it. */
    private Decision decide(Protocol.Request r) {
      if (!r.build().equals(build)) {
        return declined("another build (" + r.build() + "; this server runs " + build + ")");
      }
      return ScopedValue.where(Env.CLIENT, r.env())
          .call(
              () -> {
                String[] args = r.args().toArray(String[]::new);
                // arguments are taken as they are: no @file expansion by the server
                CommandLine cl = Main.commandLine(args, false).setExpandAtFiles(false);
                ParseResult parsed;
                try {
                  parsed = cl.parseArgs(args);
                } catch (CommandLine.ParameterException e) {
                  return declined("bad arguments");
                }
                if (servedPath(parsed) == null) {
                  return declined("not a command this server runs");
                }
                Contexts.Context c;
                try {
                  c =
                      ((PorinCommand) parsed.commandSpec().userObject())
                          .options()
                          .context()
                          .context();
                } catch (IllegalArgumentException e) {
                  return declined("no such context");
                }
                if (!netns.equals(c.netns())) {
                  return declined("a context not of this lab");
                }
                for (String f : java.util.Arrays.asList(c.ca(), c.cert(), c.key())) {
                  if (f != null && !Path.of(f).isAbsolute()) {
                    return declined("a context with relative certificate paths");
                  }
                }
                return new Decision(null, cl, parsed);
              });
    }

    private static Decision declined(String why) {
      return new Decision(why, null, null);
    }

    /**
     * Runs the command on a thread of its own; a client that goes away (its end of the socket
     * closed, or a frame that cannot be sent) interrupts it.
     */
    private void run(SocketChannel ch, Frames frames, Protocol.Request r, Decision d)
        throws IOException {
      long start = System.nanoTime();
      int[] code = {1};
      Thread worker =
          Thread.ofPlatform()
              .name("porin-command")
              .unstarted(
                  () ->
                      ScopedValue.where(Env.CLIENT, r.env())
                          .run(() -> code[0] = execute(frames, d)));
      frames.onBroken(worker::interrupt);
      worker.start();
      Thread watcher =
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    try {
                      // the client sends nothing more: reads end only when it goes away
                      ByteBuffer b = ByteBuffer.allocate(256);
                      while (ch.read(b) >= 0) {
                        b.clear();
                      }
                    } catch (IOException e) {
                      // closed: by the client, or by this server once the command is done
                    }
                    worker.interrupt();
                  });
      try {
        worker.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try {
        frames.send(Protocol.EXIT, ByteBuffer.allocate(4).putInt(code[0]).array());
      } finally {
        watcher.interrupt();
      }
      System.out.printf(
          "%s: exit %d in %d ms%n",
          printable(String.join(" ", r.args())), code[0], (System.nanoTime() - start) / 1_000_000);
    }

    /** Runs the parse that was checked, as {@code CommandLine.execute} would. */
    private static int execute(Frames frames, Decision d) {
      PrintWriter out = frames.writer(Protocol.STDOUT);
      PrintWriter err = frames.writer(Protocol.STDERR);
      CommandLine cl = d.commandLine().setOut(out).setErr(err);
      try {
        return cl.getExecutionStrategy().execute(d.parsed());
      } catch (CommandLine.ExecutionException e) {
        try {
          Exception cause = e.getCause() instanceof Exception x ? x : e;
          return cl.getExecutionExceptionHandler()
              .handleExecutionException(cause, e.getCommandLine(), d.parsed());
        } catch (Exception unhandled) {
          err.println("porin: " + unhandled);
          return 1;
        }
      } catch (RuntimeException e) {
        err.println("porin: " + e);
        return 1;
      } finally {
        out.flush();
        err.flush();
      }
    }
  }

  private static final java.util.concurrent.ScheduledExecutorService TIMEOUTS =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().daemon().name("porin-command-timeouts").unstarted(r));

  /** Text for the log: control characters (a newline in an argument) shown as '?'. */
  static String printable(String s) {
    return s.replaceAll("\\p{Cntrl}", "?");
  }

  /** The frames of one connection, from any thread. */
  static final class Frames {
    /** The largest frame sent: more output goes in several. */
    static final int MAX_FRAME = 1 << 20;

    private final SocketChannel ch;
    private Runnable onBroken = () -> {};
    private boolean broken;

    Frames(SocketChannel ch) {
      this.ch = ch;
    }

    /** What to do when a frame cannot be sent (the client went away). */
    synchronized void onBroken(Runnable r) {
      onBroken = r;
    }

    synchronized void send(byte type, byte[] payload) throws IOException {
      for (int off = 0; off < payload.length || off == 0; off += MAX_FRAME) {
        int len = Math.min(MAX_FRAME, payload.length - off);
        ByteBuffer b = ByteBuffer.allocate(5 + len);
        b.put(type).putInt(len).put(payload, off, len).flip();
        try {
          while (b.hasRemaining()) {
            ch.write(b);
          }
        } catch (IOException e) {
          if (!broken) {
            broken = true;
            onBroken.run();
          }
          throw e;
        }
        if (payload.length == 0) {
          break;
        }
      }
    }

    /** A writer whose every flush (println included) is one frame of {@code type}. */
    PrintWriter writer(byte type) {
      OutputStream s =
          new OutputStream() {
            private final java.io.ByteArrayOutputStream pending =
                new java.io.ByteArrayOutputStream();

            @Override
            public void write(int b) {
              pending.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
              pending.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
              if (pending.size() > 0) {
                send(type, pending.toByteArray());
                pending.reset();
              }
            }
          };
      return new PrintWriter(new OutputStreamWriter(s, StandardCharsets.UTF_8), true);
    }
  }
}
