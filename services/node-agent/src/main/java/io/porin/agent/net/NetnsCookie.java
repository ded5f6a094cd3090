package io.porin.agent.net;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A network namespace's cookie (what {@code bpf_get_netns_cookie} returns in the socket programs),
 * read as {@code SO_NETNS_COOKIE} of a socket opened inside it. A short-lived thread of its own
 * enters the namespace (setns changes only the calling thread) and ends there.
 */
public final class NetnsCookie {
  private static final Linker LINKER = Linker.nativeLinker();
  private static final MethodHandle OPEN =
      libc("open", ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
  private static final MethodHandle SETNS =
      libc("setns", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
  private static final MethodHandle SOCKET =
      libc(
          "socket",
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT);
  private static final MethodHandle GETSOCKOPT =
      libc(
          "getsockopt",
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT,
          ValueLayout.ADDRESS,
          ValueLayout.ADDRESS);
  private static final MethodHandle CLOSE =
      libc("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
  private static final int O_RDONLY = 0;
  private static final int CLONE_NEWNET = 0x40000000;
  private static final int AF_INET = 2;
  private static final int SOCK_DGRAM = 2;
  private static final int SOL_SOCKET = 1;
  private static final int SO_NETNS_COOKIE = 71;

  private NetnsCookie() {}

  private static MethodHandle libc(String name, ValueLayout ret, ValueLayout... args) {
    return io.porin.agent.bpf.Foreign.downcall(
        LINKER.defaultLookup(), name, FunctionDescriptor.of(ret, args), false);
  }

  /** The cookie of the namespace at {@code path} (e.g. /var/run/netns/x), if it can be read. */
  public static OptionalLong of(String path) {
    AtomicLong out = new AtomicLong(-1);
    Thread t =
        Thread.ofPlatform()
            .name("netns-cookie")
            .daemon()
            .start(
                () -> {
                  try {
                    out.set(read(path));
                  } catch (Throwable e) {
                    out.set(-1);
                  }
                });
    try {
      t.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long v = out.get();
    return v > 0 ? OptionalLong.of(v) : OptionalLong.empty();
  }

  private static long read(String path) throws Throwable {
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) OPEN.invokeExact(arena.allocateFrom(path), O_RDONLY);
      if (fd < 0) {
        return -1;
      }
      try {
        if ((int) SETNS.invokeExact(fd, CLONE_NEWNET) != 0) {
          return -1;
        }
      } finally {
        int ignored = (int) CLOSE.invokeExact(fd);
      }
      int s = (int) SOCKET.invokeExact(AF_INET, SOCK_DGRAM, 0);
      if (s < 0) {
        return -1;
      }
      try {
        MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, 8);
        int rc = (int) GETSOCKOPT.invokeExact(s, SOL_SOCKET, SO_NETNS_COOKIE, value, len);
        return rc == 0 ? value.get(ValueLayout.JAVA_LONG, 0) : -1;
      } finally {
        int ignored = (int) CLOSE.invokeExact(s);
      }
    }
  }
}
