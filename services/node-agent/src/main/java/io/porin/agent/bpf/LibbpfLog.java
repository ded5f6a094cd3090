package io.porin.agent.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Routes libbpf's messages to java.util.logging instead of stderr. */
final class LibbpfLog {
  private static final Logger LOG = Logger.getLogger("io.porin.agent.bpf.libbpf");
  private static boolean installed;

  private LibbpfLog() {}

  static synchronized void install() {
    if (installed) {
      return;
    }
    try {
      MemorySegment stub =
          Foreign.upcall(
              MethodHandles.lookup()
                  .findStatic(
                      LibbpfLog.class,
                      "print",
                      MethodType.methodType(
                          int.class, int.class, MemorySegment.class, MemorySegment.class)),
              FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
              Arena.global());
      MemorySegment ignored = (MemorySegment) Libbpf.SET_PRINT.invokeExact(stub);
      installed = true;
    } catch (Throwable t) {
      throw Libbpf.rethrow(t);
    }
  }

  /** The upcall: must never throw (an exception here ends the JVM). */
  private static int print(int level, MemorySegment format, MemorySegment args) {
    try {
      // levels: 0 warn, 1 info, 2 debug; debug is noise
      if (level >= 2) {
        return 0;
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment buf = arena.allocate(1024);
        int n = (int) Libbpf.VSNPRINTF.invokeExact(buf, 1024L, format.reinterpret(4096), args);
        if (n > 0) {
          LOG.log(level == 0 ? Level.WARNING : Level.FINE, buf.getString(0).stripTrailing());
        }
      }
    } catch (Throwable ignored) {
      // nothing may escape an upcall
    }
    return 0;
  }
}
