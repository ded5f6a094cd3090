package io.porin.cli.client;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@code porin} client and a lab's command server say to each other over the server's unix
 * socket. The client sends one {@link Request}; the server answers with frames: output for the
 * client's stdout or stderr, then the exit code, or at once a refusal (the client then runs the
 * command itself). Only the JDK: the client's jar carries nothing else.
 */
public final class Protocol {
  private Protocol() {}

  /** Changes whenever the request's layout does. */
  public static final int VERSION = 1;

  /** The most bytes a request may hold (its arguments and environment). */
  public static final int MAX_REQUEST = 256 * 1024;

  public static final byte STDOUT = 1;
  public static final byte STDERR = 2;

  /** The command ended; the payload is its exit code (4 bytes). */
  public static final byte EXIT = 3;

  /** The server does not run this command (UTF-8 reason): the client runs it itself. */
  public static final byte DECLINED = 4;

  /** The environment variables a client passes on (the only ones a command reads). */
  public static final List<String> ENVIRONMENT =
      List.of("PORIN_CONFIG", "PORIN_CONTEXT", "PORIN_LAB_DIR", "PORIN_HOME", "NO_COLOR");

  /** Not a variable of the client's: whether its standard output is a terminal ("1" or "0"). */
  public static final String TERMINAL = "PORIN_TERMINAL";

  /**
   * One command: the stamp of the client's build (the server declines when it runs another one),
   * the client's directory, environment and arguments.
   */
  public record Request(String build, String cwd, Map<String, String> env, List<String> args) {

    public void write(DataOutputStream out) throws IOException {
      out.writeInt(VERSION);
      out.writeUTF(build);
      out.writeUTF(cwd);
      out.writeInt(env.size());
      for (var e : env.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeUTF(e.getValue());
      }
      out.writeInt(args.size());
      for (String a : args) {
        out.writeUTF(a);
      }
      out.flush();
    }

    /**
     * Reads a request.
     *
     * @throws IOException when it is not one (another version, counts out of bounds, cut short)
     */
    public static Request read(DataInputStream in) throws IOException {
      int version = in.readInt();
      if (version != VERSION) {
        throw new IOException("protocol version " + version + ", not " + VERSION);
      }
      String build = in.readUTF();
      String cwd = in.readUTF();
      int n = count(in.readInt(), "environment variables");
      Map<String, String> env = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        env.put(in.readUTF(), in.readUTF());
      }
      int m = count(in.readInt(), "arguments");
      List<String> args = new ArrayList<>();
      for (int i = 0; i < m; i++) {
        args.add(in.readUTF());
      }
      return new Request(build, cwd, env, args);
    }

    private static int count(int n, String what) throws IOException {
      if (n < 0 || n > 4096) {
        throw new IOException(n + " " + what);
      }
      return n;
    }
  }

  /** One frame from the server. */
  public record Frame(byte type, byte[] payload) {}

  /** Reads one frame; null at the end of the stream. */
  public static Frame readFrame(DataInputStream in) throws IOException {
    int type = in.read();
    if (type < 0) {
      return null;
    }
    int len = in.readInt();
    if (len < 0 || len > 16 * 1024 * 1024) {
      throw new IOException("a frame of " + len + " bytes");
    }
    byte[] b = new byte[len];
    try {
      in.readFully(b);
    } catch (EOFException e) {
      throw new IOException("a frame cut short", e);
    }
    return new Frame((byte) type, b);
  }
}
