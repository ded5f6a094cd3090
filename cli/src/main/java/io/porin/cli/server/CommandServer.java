package io.porin.cli.server;

import io.porin.cli.Env;
import io.porin.cli.Main;
import io.porin.cli.PorinCommand;
import io.porin.cli.client.Client;
import io.porin.cli.client.Protocol;
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
 * <p>The socket is its owner's only (mode 0600, in a directory only root may enter) and every
 * caller is checked ({@code SO_PEERCRED}): a process of another user is refused. A caller gets
 * nothing it could not get by running {@code porin} itself with the same context file: the server
 * reads the client's context file and uses its certificate. It declines, and the client runs the
 * command in a JVM of its own, when the command is not one it runs, the context is not reached
 * through this lab's namespace, or the client is another build of Porin.
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

  /** A bound server. */
  record Running(ServerSocketChannel server, UserPrincipal owner, String netns, String build)
      implements AutoCloseable {

    /** Accepts connections until the socket is closed. */
    void serve() throws IOException {
      while (true) {
        SocketChannel ch;
        try {
          ch = server.accept();
        } catch (java.nio.channels.ClosedChannelException e) {
          return;
        }
        Thread.ofPlatform().daemon().name("porin-command").start(() -> connection(ch, owner));
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
    }

    private void connection(SocketChannel ch, UserPrincipal owner) {
      try (ch) {
        UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
        if (!peer.user().equals(owner)) {
          System.out.println("refused a caller of user " + peer.user().getName());
          return;
        }
        Protocol.Request request =
            Protocol.Request.read(new DataInputStream(Channels.newInputStream(ch)));
        Frames frames = new Frames(ch);
        String why = decline(request);
        if (why != null) {
          frames.send(Protocol.DECLINED, why.getBytes(StandardCharsets.UTF_8));
          return;
        }
        run(ch, frames, request);
      } catch (IOException | RuntimeException e) {
        System.out.println("a connection failed: " + e);
      }
    }

    /** Why this server does not run the request's command, or null when it does. */
    private String decline(Protocol.Request r) {
      if (!r.build().equals(build)) {
        return "another build (" + r.build() + "; this server runs " + build + ")";
      }
      return ScopedValue.where(Env.CLIENT, r.env())
          .call(
              () -> {
                String[] args = r.args().toArray(String[]::new);
                ParseResult parsed;
                try {
                  parsed = Main.commandLine(args, false).parseArgs(args);
                } catch (CommandLine.ParameterException e) {
                  return "bad arguments";
                }
                if (servedPath(parsed) == null) {
                  return "not a command this server runs";
                }
                try {
                  String ns =
                      ((PorinCommand) parsed.commandSpec().userObject())
                          .options()
                          .context()
                          .context()
                          .netns();
                  return netns.equals(ns) ? null : "a context not of this lab";
                } catch (IllegalArgumentException e) {
                  return "no such context";
                }
              });
    }

    /** Runs the command on a thread of its own; a client that goes away interrupts it. */
    private void run(SocketChannel ch, Frames frames, Protocol.Request r) throws IOException {
      long start = System.nanoTime();
      String[] args = r.args().toArray(String[]::new);
      int[] code = {1};
      Thread worker =
          Thread.ofPlatform()
              .name("porin-command " + String.join(" ", r.args()))
              .start(
                  () ->
                      ScopedValue.where(Env.CLIENT, r.env())
                          .run(() -> code[0] = execute(frames, args)));
      Thread watcher =
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    try {
                      // the client sends nothing more: a read ends only when it goes away
                      if (ch.read(ByteBuffer.allocate(1)) < 0) {
                        worker.interrupt();
                      }
                    } catch (IOException e) {
                      worker.interrupt();
                    }
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
          String.join(" ", r.args()), code[0], (System.nanoTime() - start) / 1_000_000);
    }

    private static int execute(Frames frames, String[] args) {
      PrintWriter out = frames.writer(Protocol.STDOUT);
      PrintWriter err = frames.writer(Protocol.STDERR);
      try {
        return Main.commandLine(args, false).setOut(out).setErr(err).execute(args);
      } catch (RuntimeException e) {
        err.println("porin: " + e);
        return 1;
      } finally {
        out.flush();
        err.flush();
      }
    }
  }

  /** The frames of one connection, from any thread. */
  static final class Frames {
    private final SocketChannel ch;

    Frames(SocketChannel ch) {
      this.ch = ch;
    }

    synchronized void send(byte type, byte[] payload) throws IOException {
      send(type, payload, 0, payload.length);
    }

    synchronized void send(byte type, byte[] payload, int off, int len) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(5 + len);
      b.put(type).putInt(len).put(payload, off, len).flip();
      while (b.hasRemaining()) {
        ch.write(b);
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
