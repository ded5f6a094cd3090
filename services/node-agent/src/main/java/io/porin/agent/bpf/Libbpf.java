package io.porin.agent.bpf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * FFM handles to libbpf 1.1 and the few libc calls the kernel room needs. libbpf's int functions
 * return -errno; its pointer functions return NULL and set errno, captured here through {@link
 * #ERRNO_STATE} (those handles take the capture segment as their first argument).
 */
final class Libbpf {
  static final Linker LINKER = Foreign.LINKER;
  private static final SymbolLookup BPF = SymbolLookup.libraryLookup("libbpf.so.1", Arena.global());
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  static final StructLayout ERRNO_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO_VALUE =
      ERRNO_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  static final MethodHandle OBJECT_OPEN_FILE =
      bpf("bpf_object__open_file", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS), true);
  static final MethodHandle OBJECT_LOAD =
      bpf("bpf_object__load", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  static final MethodHandle OBJECT_CLOSE =
      bpf("bpf_object__close", FunctionDescriptor.ofVoid(ADDRESS));
  static final MethodHandle OBJECT_FIND_MAP_FD =
      bpf("bpf_object__find_map_fd_by_name", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle OBJECT_FIND_PROGRAM =
      bpf("bpf_object__find_program_by_name", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
  static final MethodHandle PROGRAM_FD =
      bpf("bpf_program__fd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  static final MethodHandle TC_HOOK_CREATE =
      bpf("bpf_tc_hook_create", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  static final MethodHandle TC_ATTACH =
      bpf("bpf_tc_attach", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle TC_QUERY =
      bpf("bpf_tc_query", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle MAP_UPDATE =
      bpf(
          "bpf_map_update_elem",
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
  static final MethodHandle MAP_LOOKUP =
      bpf("bpf_map_lookup_elem", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle MAP_DELETE =
      bpf("bpf_map_delete_elem", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle MAP_GET_NEXT_KEY =
      bpf("bpf_map_get_next_key", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle MAP_UPDATE_BATCH =
      bpf(
          "bpf_map_update_batch",
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
  static final MethodHandle MAP_CREATE =
      bpf(
          "bpf_map_create",
          FunctionDescriptor.of(
              JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle OBJ_PIN =
      bpf("bpf_obj_pin", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle OBJ_GET = bpf("bpf_obj_get", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  static final MethodHandle OBJ_GET_INFO =
      bpf("bpf_obj_get_info_by_fd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
  static final MethodHandle PROG_TEST_RUN =
      bpf("bpf_prog_test_run_opts", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle SET_PRINT =
      bpf("libbpf_set_print", FunctionDescriptor.of(ADDRESS, ADDRESS));
  static final MethodHandle LINK_CREATE =
      bpf(
          "bpf_link_create",
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle LINK_UPDATE =
      bpf("bpf_link_update", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
  static final MethodHandle OPEN = libc("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
  static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  static final MethodHandle IF_NAMETOINDEX =
      libc("if_nametoindex", FunctionDescriptor.of(JAVA_INT, ADDRESS));
  static final MethodHandle MMAP =
      libc(
          "mmap",
          FunctionDescriptor.of(
              ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
  static final MethodHandle MUNMAP =
      libc("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
  static final MethodHandle GETPAGESIZE = libc("getpagesize", FunctionDescriptor.of(JAVA_INT));
  static final MethodHandle VSNPRINTF =
      libc("vsnprintf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));

  private Libbpf() {}

  private static MethodHandle bpf(String name, FunctionDescriptor fd) {
    return Foreign.downcall(BPF, name, fd, false);
  }

  /** A pointer function: its errno captured (the handle's first argument is the state). */
  private static MethodHandle bpf(String name, FunctionDescriptor fd, boolean captureErrno) {
    return Foreign.downcall(BPF, name, fd, captureErrno);
  }

  private static MethodHandle libc(String name, FunctionDescriptor fd) {
    return Foreign.downcall(LIBC, name, fd, false);
  }

  /** The errno a capturing call left in its state segment. */
  static int errno(MemorySegment state) {
    return (int) ERRNO_VALUE.get(state, 0L);
  }

  /** Rethrows what a downcall threw: downcalls declare Throwable but only fail on bugs. */
  static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  /** Closes a file descriptor (errors ignored: the fd is gone either way). */
  static void close(int fd) {
    try {
      int ignored = (int) CLOSE.invokeExact(fd);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}
