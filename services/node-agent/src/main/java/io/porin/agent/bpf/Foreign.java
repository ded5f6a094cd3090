package io.porin.agent.bpf;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every foreign call the agent makes (libbpf, libc), made through here so that each signature is
 * recorded: a native image must know them at build time, and {@code
 * META-INF/native-image/io.porin/porin-node-agent/reachability-metadata.json} lists them (a test
 * compares the two). Types are written as native-image spells them: {@code jint}, {@code jlong},
 * {@code void*}, {@code void}.
 */
public final class Foreign {
  private Foreign() {}

  static final Linker LINKER = Linker.nativeLinker();

  /** A call's signature as native-image's metadata names it. */
  public record Signature(
      String kind, String returnType, List<String> parameterTypes, boolean captureCallState) {}

  private static final Set<Signature> MADE = ConcurrentHashMap.newKeySet();

  /** A downcall handle to {@code name} in {@code library}, its signature recorded. */
  public static MethodHandle downcall(
      SymbolLookup library, String name, FunctionDescriptor fd, boolean captureErrno) {
    MemorySegment symbol =
        library.find(name).orElseThrow(() -> new BpfException("no native function " + name));
    MADE.add(signature("downcall", fd, captureErrno));
    return captureErrno
        ? LINKER.downcallHandle(symbol, fd, Linker.Option.captureCallState("errno"))
        : LINKER.downcallHandle(symbol, fd);
  }

  /** An upcall stub for {@code target}, its signature recorded. */
  public static MemorySegment upcall(MethodHandle target, FunctionDescriptor fd, Arena arena) {
    MADE.add(signature("upcall", fd, false));
    return LINKER.upcallStub(target, fd, arena);
  }

  /** The signatures made so far in this JVM. */
  public static Set<Signature> made() {
    return Set.copyOf(MADE);
  }

  static Signature signature(String kind, FunctionDescriptor fd, boolean captureErrno) {
    List<String> params = new ArrayList<>();
    fd.argumentLayouts().forEach(l -> params.add(type(l)));
    return new Signature(
        kind, fd.returnLayout().map(Foreign::type).orElse("void"), params, captureErrno);
  }

  /** A layout's canonical name as native-image's metadata writes it. */
  static String type(MemoryLayout layout) {
    if (layout instanceof AddressLayout) {
      return "void*";
    }
    if (layout instanceof ValueLayout v) {
      Class<?> c = v.carrier();
      if (c == int.class) {
        return "jint";
      }
      if (c == long.class) {
        return "jlong";
      }
      if (c == short.class) {
        return "jshort";
      }
      if (c == byte.class) {
        return "jbyte";
      }
      if (c == char.class) {
        return "jchar";
      }
      if (c == boolean.class) {
        return "jboolean";
      }
      if (c == float.class) {
        return "jfloat";
      }
      if (c == double.class) {
        return "jdouble";
      }
    }
    throw new IllegalArgumentException("no metadata name for the layout " + layout);
  }
}
