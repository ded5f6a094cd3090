package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Runs a program on a crafted packet in the kernel ({@code BPF_PROG_TEST_RUN}) without attaching it
 * anywhere: the packet tests of the datapath. The packet's skb has the loopback device, so the
 * program sees {@code ifindex} 1.
 */
public final class TestRun {
  /** What the program returned (a tc action), the packet as it left, and the average run time. */
  public record Result(int retval, byte[] data, long durationNanos) {}

  private TestRun() {}

  public static Result run(int programFd, byte[] packet, int repeat) {
    var l = LibbpfLayouts.TEST_RUN_OPTS;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment opts = arena.allocate(l);
      opts.set(ValueLayout.JAVA_LONG, 0, l.byteSize());
      opts.set(
          ValueLayout.ADDRESS,
          l.byteOffset(groupElement("data_in")),
          arena.allocateFrom(ValueLayout.JAVA_BYTE, packet));
      opts.set(ValueLayout.JAVA_INT, l.byteOffset(groupElement("data_size_in")), packet.length);
      opts.set(ValueLayout.JAVA_INT, l.byteOffset(groupElement("repeat")), repeat);
      MemorySegment out = arena.allocate(packet.length + 256);
      opts.set(ValueLayout.ADDRESS, l.byteOffset(groupElement("data_out")), out);
      opts.set(
          ValueLayout.JAVA_INT, l.byteOffset(groupElement("data_size_out")), (int) out.byteSize());
      int rc = (int) Libbpf.PROG_TEST_RUN.invokeExact(programFd, opts);
      BpfException.check(rc, "test run of program fd " + programFd);
      int outSize = opts.get(ValueLayout.JAVA_INT, l.byteOffset(groupElement("data_size_out")));
      return new Result(
          opts.get(ValueLayout.JAVA_INT, l.byteOffset(groupElement("retval"))),
          out.asSlice(0, outSize).toArray(ValueLayout.JAVA_BYTE),
          Integer.toUnsignedLong(
              opts.get(ValueLayout.JAVA_INT, l.byteOffset(groupElement("duration")))));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}
