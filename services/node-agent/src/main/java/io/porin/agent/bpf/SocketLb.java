package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The socket load balancer: {@code bpf_sock.c}'s programs (sharing the node's pinned maps) on a
 * cgroup v2 directory, through BPF links pinned under {@code <pins>/links/}: a restarted agent
 * swaps the programs in the same links (no moment without translation), and the links stay when the
 * agent stops. Only the cgroup the agent is configured with, never the root cgroup.
 */
public final class SocketLb implements AutoCloseable {
  private static final String OBJECT_RESOURCE = "/bpf/bpf_sock.o";
  private static final int O_RDONLY = 0;
  private static final int O_DIRECTORY = 0200000;

  /** Program and kernel attach type (enum bpf_attach_type). */
  private record Hook(String program, int attachType) {}

  private static final List<Hook> HOOKS =
      List.of(
          new Hook("porin_sock4_connect", 10),
          new Hook("porin_sock6_connect", 11),
          new Hook("porin_sock4_sendmsg", 14),
          new Hook("porin_sock6_sendmsg", 15),
          new Hook("porin_sock4_recvmsg", 19),
          new Hook("porin_sock6_recvmsg", 20),
          new Hook("porin_sock4_getpeername", 29),
          new Hook("porin_sock6_getpeername", 30));

  private final BpfObject object;
  private final Path links;

  private SocketLb(BpfObject object, Path links) {
    this.object = object;
    this.links = links;
  }

  /** Loads the socket programs against the maps pinned under {@code pins}. */
  public static SocketLb load(Path pins) throws IOException {
    Path objectFile = Files.createTempFile("porin-bpf_sock", ".o");
    try (InputStream in = SocketLb.class.getResourceAsStream(OBJECT_RESOURCE)) {
      if (in == null) {
        throw new BpfException(
            "the socket LB object " + OBJECT_RESOURCE + " is not on the classpath");
      }
      Files.copy(in, objectFile, StandardCopyOption.REPLACE_EXISTING);
      Path links = pins.resolve("links");
      Files.createDirectories(links);
      return new SocketLb(BpfObject.load(objectFile, pins), links);
    } finally {
      Files.deleteIfExists(objectFile);
    }
  }

  /**
   * Attaches every program to the cgroup (a cgroup v2 directory), or swaps the programs of the
   * links an earlier agent pinned.
   */
  public void attach(Path cgroup) {
    try (Arena arena = Arena.ofConfined()) {
      int cg =
          (int)
              Libbpf.OPEN.invokeExact(
                  arena.allocateFrom(cgroup.toString()), O_RDONLY | O_DIRECTORY);
      if (cg < 0) {
        throw new BpfException(
            "cannot open the cgroup " + cgroup + " (is it a cgroup v2 directory?)");
      }
      long cgroupId = ((Number) Files.getAttribute(cgroup, "unix:ino")).longValue();
      try {
        for (Hook h : HOOKS) {
          int prog = object.programFd(h.program());
          Path pin = links.resolve(h.program());
          if (Files.exists(pin)) {
            int link = (int) Libbpf.OBJ_GET.invokeExact(arena.allocateFrom(pin.toString()));
            if (link >= 0) {
              try {
                // reused only on this very cgroup, and while it is alive (not ENOLINK)
                if (linkCgroup(arena, link) == cgroupId
                    && (int) Libbpf.LINK_UPDATE.invokeExact(link, prog, MemorySegment.NULL) == 0) {
                  continue;
                }
              } finally {
                int ignored = (int) Libbpf.CLOSE.invokeExact(link);
              }
            }
            Files.deleteIfExists(pin); // that link was only held by its pin: detached
          }
          int link =
              (int) Libbpf.LINK_CREATE.invokeExact(prog, cg, h.attachType(), MemorySegment.NULL);
          BpfException.check(link, "attach " + h.program() + " to " + cgroup);
          try {
            int rc = (int) Libbpf.OBJ_PIN.invokeExact(link, arena.allocateFrom(pin.toString()));
            BpfException.check(rc, "pin " + pin);
          } finally {
            int ignored = (int) Libbpf.CLOSE.invokeExact(link);
          }
        }
      } finally {
        int ignored = (int) Libbpf.CLOSE.invokeExact(cg);
      }
    } catch (IOException e) {
      throw new BpfException("socket LB links under " + links + ": " + e.getMessage());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The cgroup a cgroup link is attached to ({@code struct bpf_link_info}: cgroup_id at 16). */
  private static long linkCgroup(Arena arena, int link) throws Throwable {
    MemorySegment info = arena.allocate(32, 8);
    MemorySegment len = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_INT, 32);
    int rc = (int) Libbpf.OBJ_GET_INFO.invokeExact(link, info, len);
    return rc == 0 ? info.get(java.lang.foreign.ValueLayout.JAVA_LONG, 16) : -1;
  }

  /** Detaches the programs: removes the pinned links (the kernel releases them). */
  public static void detach(Path pins) throws IOException {
    Path links = pins.resolve("links");
    if (!Files.isDirectory(links)) {
      return;
    }
    for (Hook h : HOOKS) {
      Files.deleteIfExists(links.resolve(h.program()));
    }
  }

  @Override
  public void close() {
    object.close();
  }
}
