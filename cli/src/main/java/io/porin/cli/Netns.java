package io.porin.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * Moves the calling thread into a network namespace ({@code setns(2)}), in this process. A network
 * namespace belongs to a thread, and a thread starts in its creator's: entered on the main thread
 * before any thread that opens sockets or starts processes exists, it is the namespace of
 * everything the command does. This is what {@code nsenter --net=} does, without a second JVM.
 */
final class Netns {
  private Netns() {}

  private static final int O_RDONLY_CLOEXEC = 0x80000;
  private static final int CLONE_NEWNET = 0x40000000;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

  private static MethodHandle libc(String name, FunctionDescriptor fd) {
    return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd, CAPTURE);
  }

  private static final MethodHandle OPEN =
      libc(
          "open",
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
  private static final MethodHandle SETNS =
      libc(
          "setns",
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle CLOSE =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("close"),
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle STRERROR =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("strerror"),
          FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

  /** Enters the network namespace {@code path} (e.g. {@code /var/run/netns/lab-cp}). */
  static void enter(Path path) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(STATE);
      int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path.toString()), O_RDONLY_CLOEXEC);
      if (fd < 0) {
        throw new IllegalArgumentException("cannot open " + path + ": " + error(state));
      }
      try {
        int rc = (int) SETNS.invokeExact(state, fd, CLONE_NEWNET);
        if (rc != 0) {
          throw new IllegalArgumentException("cannot enter " + path + ": " + error(state));
        }
      } finally {
        int ignored = (int) CLOSE.invokeExact(fd);
      }
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("setns: " + t, t);
    }
  }

  private static String error(MemorySegment state) throws Throwable {
    int errno = (int) ERRNO.get(state, 0L);
    MemorySegment msg = ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256);
    return msg.getString(0) + " (errno " + errno + ")";
  }
}
