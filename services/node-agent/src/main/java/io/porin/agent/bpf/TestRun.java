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
    return run(programFd, packet, repeat, 0);
  }

  /** The {@code struct __sk_buff} a test run may be given (the kernel's size, 192 bytes). */
  private static final int SKB_CTX_SIZE = 192;

  /** The offset of {@code ingress_ifindex} in {@code struct __sk_buff}. */
  private static final int SKB_INGRESS_IFINDEX = 36;

  /**
   * As {@link #run(int, byte[], int)}, the packet having arrived on the node through {@code
   * ingressIfindex} (0: not given).
   */
  public static Result run(int programFd, byte[] packet, int repeat, int ingressIfindex) {
    var l = LibbpfLayouts.TEST_RUN_OPTS;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment opts = arena.allocate(l);
      opts.set(ValueLayout.JAVA_LONG, 0, l.byteSize());
      if (ingressIfindex != 0) {
        MemorySegment ctx = arena.allocate(SKB_CTX_SIZE);
        ctx.set(ValueLayout.JAVA_INT, SKB_INGRESS_IFINDEX, ingressIfindex);
        opts.set(ValueLayout.ADDRESS, l.byteOffset(groupElement("ctx_in")), ctx);
        opts.set(ValueLayout.JAVA_INT, l.byteOffset(groupElement("ctx_size_in")), SKB_CTX_SIZE);
      }
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
