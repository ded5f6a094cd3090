package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A loaded BPF object file. Maps declared with {@code LIBBPF_PIN_BY_NAME} are pinned under the pin
 * directory on first load and reused (contents included) by every later load: that is how a
 * restarted agent keeps the state the datapath runs on.
 */
public final class BpfObject implements AutoCloseable {
  private static final int LOG_SIZE = 1 << 20;

  private final MemorySegment object;
  private final Path file;
  private boolean closed;

  private BpfObject(MemorySegment object, Path file) {
    this.object = object;
    this.file = file;
  }

  /**
   * Opens and loads an object file, its pinned maps under {@code pinDirectory}. A verifier
   * rejection throws with the end of the verifier's log.
   */
  public static BpfObject load(Path file, Path pinDirectory) {
    LibbpfLog.install();
    MemorySegment obj;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment opts = arena.allocate(LibbpfLayouts.OBJECT_OPEN_OPTS);
      var l = LibbpfLayouts.OBJECT_OPEN_OPTS;
      opts.set(ValueLayout.JAVA_LONG, 0, l.byteSize());
      opts.set(
          ValueLayout.ADDRESS,
          l.byteOffset(groupElement("pin_root_path")),
          arena.allocateFrom(pinDirectory.toString()));
      MemorySegment log = Arena.global().allocate(LOG_SIZE);
      opts.set(ValueLayout.ADDRESS, l.byteOffset(groupElement("kernel_log_buf")), log);
      opts.set(ValueLayout.JAVA_LONG, l.byteOffset(groupElement("kernel_log_size")), LOG_SIZE);
      MemorySegment errno = arena.allocate(Libbpf.ERRNO_STATE);
      obj =
          (MemorySegment)
              Libbpf.OBJECT_OPEN_FILE.invokeExact(errno, arena.allocateFrom(file.toString()), opts);
      if (obj.equals(MemorySegment.NULL)) {
        throw new BpfException("open " + file, Libbpf.errno(errno));
      }
      int rc = (int) Libbpf.OBJECT_LOAD.invokeExact(obj);
      if (rc < 0) {
        String verifier = log.getString(0);
        Libbpf.OBJECT_CLOSE.invokeExact(obj);
        String tail =
            verifier.length() > 4000 ? verifier.substring(verifier.length() - 4000) : verifier;
        throw new BpfException(
            "load " + file + ": " + Errno.describe(-rc) + (tail.isBlank() ? "" : "\n" + tail));
      }
      return new BpfObject(obj, file);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** A map of this object; its descriptor lives as long as the object. */
  public BpfMap map(String name, int keySize, int valueSize) {
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) Libbpf.OBJECT_FIND_MAP_FD.invokeExact(object, arena.allocateFrom(name));
      BpfException.check(fd, "find map " + name + " in " + file);
      return new BpfMap(name, fd, keySize, valueSize, false);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The descriptor of a program of this object. */
  public int programFd(String name) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment prog =
          (MemorySegment) Libbpf.OBJECT_FIND_PROGRAM.invokeExact(object, arena.allocateFrom(name));
      if (prog.equals(MemorySegment.NULL)) {
        throw new BpfException(file + " has no program " + name);
      }
      return BpfException.check((int) Libbpf.PROGRAM_FD.invokeExact(prog), "program " + name);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      try {
        Libbpf.OBJECT_CLOSE.invokeExact(object);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
  }
}
