package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One BPF map, by file descriptor, with fixed key and value sizes. Keys and values are byte arrays
 * laid out as {@link MapLayouts} says. Closing releases this process's descriptor only: a pinned
 * map stays.
 */
public final class BpfMap implements AutoCloseable {
  /** Update flags of bpf_map_update_elem. */
  public static final long ANY = 0;

  public static final long NO_EXIST = 1;

  private final String name;
  private final int fd;
  private final int keySize;
  private final int valueSize;
  private final boolean owned;
  private volatile boolean closed;

  BpfMap(String name, int fd, int keySize, int valueSize) {
    this(name, fd, keySize, valueSize, true);
  }

  /** A map whose descriptor belongs to someone else (a loaded object): close() leaves it. */
  BpfMap(String name, int fd, int keySize, int valueSize, boolean owned) {
    this.name = name;
    this.fd = fd;
    this.keySize = keySize;
    this.valueSize = valueSize;
    this.owned = owned;
  }

  public String name() {
    return name;
  }

  public int fd() {
    return fd;
  }

  public int keySize() {
    return keySize;
  }

  public int valueSize() {
    return valueSize;
  }

  /** Opens a pinned map. */
  public static BpfMap fromPin(Path pin, String name, int keySize, int valueSize) {
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) Libbpf.OBJ_GET.invokeExact(arena.allocateFrom(pin.toString()));
      BpfException.check(fd, "open pinned map " + pin);
      return new BpfMap(name, fd, keySize, valueSize);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Creates an unpinned map (an inner map of a map of maps, for instance).
   *
   * @param type the kernel's map type number
   */
  public static BpfMap create(
      int type, String name, int keySize, int valueSize, int maxEntries, int flags) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment opts = arena.allocate(LibbpfLayouts.MAP_CREATE_OPTS);
      opts.set(ValueLayout.JAVA_LONG, 0, LibbpfLayouts.MAP_CREATE_OPTS.byteSize());
      opts.set(
          ValueLayout.JAVA_INT,
          LibbpfLayouts.MAP_CREATE_OPTS.byteOffset(
              java.lang.foreign.MemoryLayout.PathElement.groupElement("map_flags")),
          flags);
      int fd =
          (int)
              Libbpf.MAP_CREATE.invokeExact(
                  type,
                  arena.allocateFrom(name.length() > 15 ? name.substring(0, 15) : name),
                  keySize,
                  valueSize,
                  maxEntries,
                  opts);
      BpfException.check(fd, "create map " + name);
      return new BpfMap(name, fd, keySize, valueSize);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * The map's capacity as the kernel reports it ({@code struct bpf_map_info}: type, id, key size,
   * value size, max entries, ...; the first six words are all this asks for).
   */
  public int maxEntries() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment info = arena.allocate(24);
      MemorySegment len = arena.allocateFrom(ValueLayout.JAVA_INT, 24);
      int rc = (int) Libbpf.OBJ_GET_INFO.invokeExact(fd, info, len);
      BpfException.check(rc, "info of " + name);
      return info.get(ValueLayout.JAVA_INT, 16);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Pins this map at a bpffs path. */
  public void pin(Path path) {
    try (Arena arena = Arena.ofConfined()) {
      int rc = (int) Libbpf.OBJ_PIN.invokeExact(fd, arena.allocateFrom(path.toString()));
      BpfException.check(rc, "pin " + name + " at " + path);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public void update(byte[] key, byte[] value, long flags) {
    checkSizes(key, value);
    try (Arena arena = Arena.ofConfined()) {
      int rc =
          (int)
              Libbpf.MAP_UPDATE.invokeExact(
                  fd,
                  arena.allocateFrom(ValueLayout.JAVA_BYTE, key),
                  arena.allocateFrom(ValueLayout.JAVA_BYTE, value),
                  flags);
      BpfException.check(rc, "update " + name);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public void update(byte[] key, byte[] value) {
    update(key, value, ANY);
  }

  /** Stores a map's file descriptor as the value (maps of maps: value size 4). */
  public void updateInner(byte[] key, BpfMap inner) {
    byte[] value = new byte[4];
    MemorySegment.ofArray(value).set(ValueLayout.JAVA_INT_UNALIGNED, 0, inner.fd());
    update(key, value, ANY);
  }

  /** The value under a key, or empty. For a map of maps the value is the inner map's id. */
  public Optional<byte[]> lookup(byte[] key) {
    if (key.length != keySize) {
      throw new IllegalArgumentException(
          name + ": key is " + key.length + " bytes, not " + keySize);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment value = arena.allocate(valueSize);
      int rc =
          (int)
              Libbpf.MAP_LOOKUP.invokeExact(
                  fd, arena.allocateFrom(ValueLayout.JAVA_BYTE, key), value);
      if (rc == -Errno.ENOENT) {
        return Optional.empty();
      }
      BpfException.check(rc, "lookup in " + name);
      return Optional.of(value.toArray(ValueLayout.JAVA_BYTE));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Deletes a key; true when it was there. */
  public boolean delete(byte[] key) {
    try (Arena arena = Arena.ofConfined()) {
      int rc =
          (int) Libbpf.MAP_DELETE.invokeExact(fd, arena.allocateFrom(ValueLayout.JAVA_BYTE, key));
      if (rc == -Errno.ENOENT) {
        return false;
      }
      BpfException.check(rc, "delete from " + name);
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Every key, in the kernel's iteration order (the map may change meanwhile). */
  public List<byte[]> keys() {
    List<byte[]> out = new ArrayList<>();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment current = MemorySegment.NULL;
      MemorySegment next = arena.allocate(keySize);
      MemorySegment prev = arena.allocate(keySize);
      while (true) {
        int rc = (int) Libbpf.MAP_GET_NEXT_KEY.invokeExact(fd, current, next);
        if (rc == -Errno.ENOENT) {
          return out;
        }
        BpfException.check(rc, "iterate " + name);
        out.add(next.toArray(ValueLayout.JAVA_BYTE));
        MemorySegment.copy(next, 0, prev, 0, keySize);
        current = prev;
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Writes many entries in one call; keys and values are concatenated. */
  public void updateBatch(byte[] keys, byte[] values, int count) {
    if (count == 0) {
      return;
    }
    if (keys.length != count * keySize || values.length != count * valueSize) {
      throw new IllegalArgumentException(name + ": batch of " + count + " has wrong sizes");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment n = arena.allocateFrom(ValueLayout.JAVA_INT, count);
      MemorySegment opts = arena.allocate(LibbpfLayouts.MAP_BATCH_OPTS);
      opts.set(ValueLayout.JAVA_LONG, 0, LibbpfLayouts.MAP_BATCH_OPTS.byteSize());
      int rc =
          (int)
              Libbpf.MAP_UPDATE_BATCH.invokeExact(
                  fd,
                  arena.allocateFrom(ValueLayout.JAVA_BYTE, keys),
                  arena.allocateFrom(ValueLayout.JAVA_BYTE, values),
                  n,
                  opts);
      BpfException.check(rc, "batch update of " + count + " in " + name);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private void checkSizes(byte[] key, byte[] value) {
    if (key.length != keySize || value.length != valueSize) {
      throw new IllegalArgumentException(
          name
              + ": key/value are "
              + key.length
              + "/"
              + value.length
              + " bytes, not "
              + keySize
              + "/"
              + valueSize);
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      if (owned) {
        Libbpf.close(fd);
      }
    }
  }

  @Override
  public String toString() {
    return name + "(fd " + fd + ")";
  }
}
