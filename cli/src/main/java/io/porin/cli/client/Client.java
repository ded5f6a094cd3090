package io.porin.cli.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code porin}'s fast path: hands the command to a lab's command server, whose JVM is warm and
 * already in the lab's namespace, and prints what it answers. Usage: {@code Client JAR SOCKET... --
 * ARGS...}; JAR is the CLI's jar (its size and time stamp tell the server which build the client
 * is). Every server that declines (another lab's context, a command it does not run, another build)
 * or cannot be reached is skipped; when none ran the command the client exits {@link #NOT_RUN} and
 * {@code bin/porin} runs the command in a JVM of its own.
 */
public final class Client {
  private Client() {}

  /** No server ran the command (EX_TEMPFAIL). */
  public static final int NOT_RUN = 75;

  public static void main(String[] argv) throws IOException {
    int dashes = Arrays.asList(argv).indexOf("--");
    if (dashes < 1) {
      System.err.println("usage: Client JAR SOCKET... -- ARGS...");
      System.exit(2);
    }
    Path jar = Path.of(argv[0]);
    List<String> args = List.of(argv).subList(dashes + 1, argv.length);
    Protocol.Request request =
        new Protocol.Request(build(jar), Path.of("").toAbsolutePath().toString(), env(), args);
    for (int i = 1; i < dashes; i++) {
      Integer code = ask(Path.of(argv[i]), request);
      if (code != null) {
        System.out.flush();
        System.exit(code);
      }
    }
    System.exit(NOT_RUN);
  }

  /** A build's stamp: the jar's size and modification time. */
  public static String build(Path jar) throws IOException {
    return Files.size(jar) + "@" + Files.getLastModifiedTime(jar).toMillis();
  }

  /** The variables commands read, paths made absolute (the server has its own directory). */
  static Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    for (String name : Protocol.ENVIRONMENT) {
      String v = System.getenv(name);
      if (v != null) {
        env.put(
            name,
            name.equals("PORIN_CONFIG") || name.equals("PORIN_LAB_DIR") || name.equals("PORIN_HOME")
                ? Path.of(v).toAbsolutePath().toString()
                : v);
      }
    }
    java.io.Console c = System.console();
    env.put(Protocol.TERMINAL, c != null && c.isTerminal() ? "1" : "0");
    return env;
  }

  /**
   * Whether a socket may be a lab's command server: its directory is this user's alone (not a link,
   * owned by this user, nobody else may write or enter it), so nobody else can have put a server of
   * theirs there.
   */
  static boolean trusted(Path socket) {
    try {
      Path dir = socket.toAbsolutePath().getParent();
      var attrs =
          Files.readAttributes(
              dir,
              java.nio.file.attribute.PosixFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS);
      var me =
          dir.getFileSystem()
              .getUserPrincipalLookupService()
              .lookupPrincipalByName(System.getProperty("user.name"));
      return attrs.isDirectory()
          && attrs.owner().equals(me)
          && attrs.permissions().stream()
              .noneMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"));
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** The command's exit code, or null when this server did not run it. */
  static Integer ask(Path socket, Protocol.Request request) {
    if (!trusted(socket)) {
      return null;
    }
    boolean answered = false;
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      var out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch)));
      request.write(out);
      var in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(ch)));
      for (Protocol.Frame f = Protocol.readFrame(in); f != null; f = Protocol.readFrame(in)) {
        answered = true;
        switch (f.type()) {
          case Protocol.STDOUT -> System.out.write(f.payload());
          case Protocol.STDERR -> {
            System.out.flush();
            System.err.write(f.payload());
            System.err.flush();
          }
          case Protocol.EXIT -> {
            return ByteBuffer.wrap(f.payload()).getInt();
          }
          case Protocol.DECLINED -> {
            return null;
          }
          default -> throw new IOException("a frame of type " + f.type());
        }
      }
      return answered ? wentAway(socket) : null;
    } catch (IOException e) {
      // before any answer: as if there were no server; after: the command ran in part
      return answered ? wentAway(socket) : null;
    }
  }

  private static int wentAway(Path socket) {
    System.out.flush();
    System.err.println("porin: the lab's command server at " + socket + " went away");
    return 1;
  }
}
