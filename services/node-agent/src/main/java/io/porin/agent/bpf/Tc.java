package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * tc (clsact, direct action) attachment of programs to an interface of the calling thread's network
 * namespace. The attachment stays when the process exits: the kernel holds the program.
 * Re-attaching replaces the program atomically, so an agent restart never leaves a gap.
 */
public final class Tc {
  /** Where on the interface: traffic it receives, or traffic it sends. */
  public enum Hook {
    INGRESS(1),
    EGRESS(2);

    final int attachPoint;

    Hook(int attachPoint) {
      this.attachPoint = attachPoint;
    }
  }

  /** Porin's filter handle and priority on every hook it uses. */
  static final int HANDLE = 1;

  static final int PRIORITY = 1;
  private static final int REPLACE = 1;

  private Tc() {}

  /** The interface index of a name in this namespace; 0 when there is no such interface. */
  public static int ifindex(String name) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) Libbpf.IF_NAMETOINDEX.invokeExact(arena.allocateFrom(name));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Attaches (or atomically replaces) the program on one hook of an interface. */
  public static void attach(int ifindex, Hook hook, int programFd) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment h = hook(arena, ifindex, hook);
      int rc = (int) Libbpf.TC_HOOK_CREATE.invokeExact(h);
      if (rc < 0 && rc != -Errno.EEXIST) {
        BpfException.check(rc, "create clsact on ifindex " + ifindex);
      }
      MemorySegment opts = opts(arena);
      opts.set(ValueLayout.JAVA_INT, offset("prog_fd"), programFd);
      opts.set(ValueLayout.JAVA_INT, offset("flags"), REPLACE);
      BpfException.check(
          (int) Libbpf.TC_ATTACH.invokeExact(h, opts), "attach to ifindex " + ifindex + " " + hook);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The id of the program attached on a hook, or 0 when none is. */
  public static int attachedProgramId(int ifindex, Hook hook) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment opts = opts(arena);
      int rc = (int) Libbpf.TC_QUERY.invokeExact(hook(arena, ifindex, hook), opts);
      if (rc == -Errno.ENOENT || rc == -Errno.EINVAL) {
        return 0;
      }
      BpfException.check(rc, "query ifindex " + ifindex + " " + hook);
      return opts.get(ValueLayout.JAVA_INT, offset("prog_id"));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MemorySegment hook(Arena arena, int ifindex, Hook hook) {
    MemorySegment h = arena.allocate(LibbpfLayouts.TC_HOOK);
    h.set(ValueLayout.JAVA_LONG, 0, LibbpfLayouts.TC_HOOK.byteSize());
    h.set(ValueLayout.JAVA_INT, LibbpfLayouts.TC_HOOK.byteOffset(groupElement("ifindex")), ifindex);
    h.set(
        ValueLayout.JAVA_INT,
        LibbpfLayouts.TC_HOOK.byteOffset(groupElement("attach_point")),
        hook.attachPoint);
    return h;
  }

  private static MemorySegment opts(Arena arena) {
    MemorySegment o = arena.allocate(LibbpfLayouts.TC_OPTS);
    o.set(ValueLayout.JAVA_LONG, 0, LibbpfLayouts.TC_OPTS.byteSize());
    o.set(ValueLayout.JAVA_INT, offset("handle"), HANDLE);
    o.set(ValueLayout.JAVA_INT, offset("priority"), PRIORITY);
    return o;
  }

  private static long offset(String field) {
    return LibbpfLayouts.TC_OPTS.byteOffset(groupElement(field));
  }
}
