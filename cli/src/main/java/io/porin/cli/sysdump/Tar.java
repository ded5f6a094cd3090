package io.porin.cli.sysdump;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/** A gzipped tar archive (POSIX ustar) of regular files, written as they come. */
final class Tar implements AutoCloseable {
  private final GZIPOutputStream out;
  private final long mtime = System.currentTimeMillis() / 1000;

  Tar(OutputStream sink) throws IOException {
    this.out = new GZIPOutputStream(sink);
  }

  /** Adds a file (mode 0644) at {@code path} (relative, '/'-separated, at most 255 bytes). */
  void add(String path, byte[] content) throws IOException {
    byte[] h = new byte[512];
    byte[] name = path.getBytes(StandardCharsets.UTF_8);
    if (name.length > 255 || path.startsWith("/") || path.contains("..")) {
      throw new IllegalArgumentException("tar: bad path " + path);
    }
    if (name.length <= 100) {
      System.arraycopy(name, 0, h, 0, name.length);
    } else {
      int cut = path.lastIndexOf('/', 155);
      byte[] prefix = path.substring(0, cut).getBytes(StandardCharsets.UTF_8);
      byte[] rest = path.substring(cut + 1).getBytes(StandardCharsets.UTF_8);
      if (cut < 0 || prefix.length > 155 || rest.length > 100) {
        throw new IllegalArgumentException("tar: path too long " + path);
      }
      System.arraycopy(rest, 0, h, 0, rest.length);
      System.arraycopy(prefix, 0, h, 345, prefix.length);
    }
    octal(h, 100, 8, 0644);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, content.length);
    octal(h, 136, 12, mtime);
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    h[156] = '0';
    System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
    h[263] = '0';
    h[264] = '0';
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    octal(h, 148, 7, sum);
    out.write(h);
    out.write(content);
    int pad = (int) ((512 - content.length % 512) % 512);
    out.write(new byte[pad]);
  }

  private static void octal(byte[] h, int off, int len, long v) {
    String s = Long.toOctalString(v);
    if (s.length() > len - 1) {
      throw new IllegalArgumentException("tar: " + v + " does not fit");
    }
    s = "0".repeat(len - 1 - s.length()) + s;
    System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, off, len - 1);
    h[off + len - 1] = 0;
  }

  @Override
  public void close() throws IOException {
    out.write(new byte[1024]);
    out.finish();
    out.close();
  }
}
