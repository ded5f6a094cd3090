package io.porin.cli.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.porin.cli.client.Client;
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
import java.util.ArrayList;
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
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                server.serve();
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
    // --context and $PORIN_CONTEXT pick the context as they do without a server
    assertThat(ask("build-1", "--context", "lab", "identity", "list").exit()).isEqualTo(1);
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
   * (SO_PEERCRED): the client, run as nobody, gets no answer and would run the command itself.
   */
  @Test
  void refusesACallerOfAnotherUser() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name"))
            && Files.isExecutable(Path.of("/usr/bin/setpriv")),
        "needs root and setpriv");
    Path classes = Files.createDirectories(dir.resolve("classes/io/porin/cli/client"));
    Path built =
        Path.of(Client.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .resolve("io/porin/cli/client");
    try (var files = Files.list(built)) {
      for (Path f : files.toList()) {
        Files.copy(f, classes.resolve(f.getFileName()));
      }
    }
    Path jar = Files.writeString(dir.resolve("fake.jar"), "x");
    for (Path p : List.of(dir, dir.resolve("classes"), jar)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.walk(dir.resolve("classes"))
        .forEach(
            p -> {
              try {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    // a server for the client's build, so that only the caller check can stop the command
    Path open = dir.resolve("open.sock");
    CommandServer.Running second = CommandServer.open(open, "lab-cp", Client.build(jar));
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try {
                second.serve();
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-rw-rw-"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:off",
                "-cp",
                dir.resolve("classes").toString(),
                "io.porin.cli.client.Client",
                jar.toString(),
                open.toString(),
                "--",
                "identity",
                "list"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("PORIN_CONFIG", config.toString());
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
    try {
      Process p = pb.start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as(output).isEqualTo(Client.NOT_RUN);
      assertThat(output).isEmpty();
      // the same client as root is served (the command fails: nothing listens at port 1)
      cmd.subList(0, 4).clear();
      ProcessBuilder asRoot = new ProcessBuilder(cmd).redirectErrorStream(true);
      asRoot.environment().put("PORIN_CONFIG", config.toString());
      Process q = asRoot.start();
      String served = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(q.waitFor()).as(served).isEqualTo(1);
      assertThat(served).contains("cannot reach the identity service");
    } finally {
      second.close();
    }
  }
}
