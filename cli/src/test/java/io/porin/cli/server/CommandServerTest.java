package io.porin.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.porin.cli.client.Protocol;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lab's command server over a real unix socket: what it runs and relays, what it declines (so
 * the client runs the command itself), and what it refuses: malformed requests and callers of
 * another user.
 */
class CommandServerTest {
  @TempDir Path dir;
  Path socket;
  Path config;
  CommandServer.Running server;

  @BeforeEach
  void start() throws IOException {
    config = dir.resolve("config");
    // "lab" is reached through this server's namespace; its identity service is at a closed port
    Files.writeString(
        config,
        """
        current-context: lab
        contexts:
          lab:
            identity: "127.0.0.1:1"
            netns: lab-cp
            insecure: true
          other:
            identity: "127.0.0.1:1"
            netns: other-cp
            insecure: true
        """);
    socket = dir.resolve("cli.sock");
    server = CommandServer.open(socket, "lab-cp", "build-1");
    serveInBackground(server);
  }

  static void serveInBackground(CommandServer.Running r) {
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                r.serve();
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
  }

  record Answer(String stdout, String stderr, Integer exit, String declined) {}

  Answer ask(String build, String... args) throws IOException {
    return ask(
        new Protocol.Request(build, "/", Map.of("PORIN_CONFIG", config.toString()), List.of(args)));
  }

  Answer ask(Protocol.Request r) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      r.write(new DataOutputStream(Channels.newOutputStream(ch)));
      return answer(ch);
    }
  }

  static Answer answer(SocketChannel ch) throws IOException {
    var in = new DataInputStream(Channels.newInputStream(ch));
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    for (Protocol.Frame f = next(in); f != null; f = next(in)) {
      String text = new String(f.payload(), StandardCharsets.UTF_8);
      switch (f.type()) {
        case Protocol.STDOUT -> out.append(text);
        case Protocol.STDERR -> err.append(text);
        case Protocol.EXIT -> {
          return new Answer(
              out.toString(), err.toString(), ByteBuffer.wrap(f.payload()).getInt(), null);
        }
        case Protocol.DECLINED -> {
          return new Answer(out.toString(), err.toString(), null, text);
        }
        default -> throw new AssertionError("frame type " + f.type());
      }
    }
    return new Answer(out.toString(), err.toString(), null, null);
  }

  /** The next frame; null at the end, or when the server reset the connection. */
  static Protocol.Frame next(DataInputStream in) throws IOException {
    try {
      return Protocol.readFrame(in);
    } catch (java.net.SocketException e) {
      return null;
    }
  }

  @Test
  void runsAServedCommandOfItsLabAndRelaysItsOutputAndExitCode() throws IOException {
    Answer a = ask("build-1", "identity", "list");
    assertThat(a.declined()).isNull();
    assertThat(a.exit()).isEqualTo(1);
    assertThat(a.stderr())
        .contains("cannot reach the identity service at 127.0.0.1:1")
        .contains("context \"lab\"");
    // --context picks the context as it does without a server
    assertThat(ask("build-1", "--context", "lab", "identity", "list").exit()).isEqualTo(1);
    // standard output too: status as JSON, every service unreachable
    Answer status = ask("build-1", "status", "-o", "json");
    assertThat(status.exit()).isEqualTo(1);
    assertThat(status.stdout()).contains("\"context\" : \"lab\"").contains("\"ok\" : false");
  }

  @Test
  void declinesWhatItDoesNotRunSoTheClientRunsItItself() throws IOException {
    assertThat(ask("build-1", "lab", "list").declined())
        .isEqualTo("not a command this server runs");
    assertThat(ask("build-1", "apply", "-f", "x.yaml").declined())
        .isEqualTo("not a command this server runs");
    assertThat(ask("build-1", "identity", "allocate", "app=x").declined())
        .isEqualTo("not a command this server runs");
    assertThat(ask("build-1", "--help", "identity", "list").declined())
        .isEqualTo("not a command this server runs");
    assertThat(ask("build-1", "--context", "other", "identity", "list").declined())
        .isEqualTo("a context not of this lab");
    assertThat(ask("build-1", "--context", "nope", "identity", "list").declined())
        .isEqualTo("no such context");
    assertThat(ask("build-1", "identity", "list", "--bogus").declined()).isEqualTo("bad arguments");
    assertThat(ask("build-2", "identity", "list").declined()).startsWith("another build");
  }

  @Test
  void aMalformedRequestEndsItsConnectionOnlyAndTheServerGoesOn() throws IOException {
    for (byte[] garbage :
        List.of(
            new byte[] {0, 0, 0, 99, 1, 2, 3},
            new byte[] {
              0, 0, 0, 1, 0, 1, 'b', 0, 1, '/', (byte) 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff
            },
            new byte[] {0, 0})) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap(garbage));
        ch.shutdownOutput();
        Answer a = answer(ch);
        assertThat(a.exit()).isNull();
        assertThat(a.declined()).isNull();
        assertThat(a.stdout() + a.stderr()).isEmpty();
      }
    }
    assertThat(ask("build-1", "identity", "list").exit()).isEqualTo(1);
  }

  @Test
  void theSocketIsItsOwnersOnly() throws IOException {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)))
        .isEqualTo("rw-------");
  }

  /**
   * Even where the socket's mode would let another user connect, the server refuses the caller
   * (SO_PEERCRED) before reading anything: a process of user nobody connects and sends a request.
   */
  @Test
  void refusesACallerOfAnotherUser() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name"))
            && Files.isExecutable(Path.of("/usr/bin/setpriv")),
        "needs root and setpriv");
    Path open = Files.createDirectories(dir.resolve("open"));
    Path sock = open.resolve("cli.sock");
    CommandServer.Running second = CommandServer.open(sock, "lab-cp", "build-1");
    serveInBackground(second);
    Path raw =
        Files.writeString(
            open.resolve("Raw.java"),
            """
            import java.io.*;
            import java.net.*;
            import java.nio.channels.*;
            public class Raw {
              public static void main(String[] a) throws Exception {
                try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                  ch.connect(UnixDomainSocketAddress.of(a[0]));
                  var out = new DataOutputStream(Channels.newOutputStream(ch));
                  try {
                    out.writeInt(1); out.writeUTF("build-1"); out.writeUTF("/"); out.writeInt(0);
                    out.writeInt(2); out.writeUTF("identity"); out.writeUTF("list"); out.flush();
                  } catch (IOException closedAlready) {
                    // the server may close before the request is written
                  }
                  int n;
                  try {
                    n = Channels.newInputStream(ch).readAllBytes().length;
                  } catch (IOException reset) {
                    n = 0;
                  }
                  System.out.println("answer bytes " + n);
                }
              }
            }
            """);
    for (Path p : List.of(dir, open, raw)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-rw-rw-"));
    try {
      Process p =
          new ProcessBuilder(
                  "setpriv",
                  "--reuid=65534",
                  "--regid=65534",
                  "--clear-groups",
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xshare:off",
                  raw.toString(),
                  sock.toString())
              .redirectErrorStream(true)
              .start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as(output).isZero();
      assertThat(output).as("connected, and got nothing back").contains("answer bytes 0");
      assertThat(second.refused().get()).isEqualTo(1);
    } finally {
      second.close();
    }
  }

  @Test
  void argumentsAreTakenAsTheyAreNotAsFilesToRead() throws IOException {
    Path args = Files.writeString(dir.resolve("args"), "identity\nlist\n");
    assertThat(ask("build-1", "@" + args).declined()).isEqualTo("bad arguments");
  }

  @Test
  void aRequestOverTheLimitIsCutOff() throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      var out = new DataOutputStream(Channels.newOutputStream(ch));
      out.writeInt(Protocol.VERSION);
      out.writeUTF("build-1");
      out.writeUTF("/");
      out.writeInt(0);
      out.writeInt(20);
      String big = "x".repeat(60_000);
      try {
        for (int i = 0; i < 20; i++) {
          out.writeUTF(big);
        }
        out.flush();
      } catch (IOException closedOnUs) {
        // the server stopped reading and closed: what is expected
      }
      Answer a = answer(ch);
      assertThat(a.exit()).isNull();
      assertThat(a.declined()).isNull();
    }
    assertThat(ask("build-1", "identity", "list").exit()).isEqualTo(1);
  }

  @Test
  void aLargeOutputGoesInSeveralFrames() throws IOException {
    var frames = new java.util.ArrayList<Protocol.Frame>();
    try (SocketChannel a = SocketChannel.open(StandardProtocolFamily.UNIX);
        var listening =
            java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                .bind(UnixDomainSocketAddress.of(dir.resolve("f.sock")))) {
      a.connect(UnixDomainSocketAddress.of(dir.resolve("f.sock")));
      try (SocketChannel b = listening.accept()) {
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    new CommandServer.Frames(b)
                        .send(Protocol.STDOUT, new byte[CommandServer.Frames.MAX_FRAME * 2 + 5]);
                    b.shutdownOutput();
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                });
        var in = new DataInputStream(Channels.newInputStream(a));
        for (Protocol.Frame f = next(in); f != null; f = next(in)) {
          frames.add(f);
        }
      }
    }
    assertThat(frames)
        .extracting(f -> f.payload().length)
        .containsExactly(CommandServer.Frames.MAX_FRAME, CommandServer.Frames.MAX_FRAME, 5);
  }
}
