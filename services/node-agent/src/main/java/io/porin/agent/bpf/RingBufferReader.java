package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Drains a BPF ring buffer in batches on one platform thread. The datapath writes without waking
 * anyone (BPF_RB_NO_WAKEUP), so this reader looks every {@code intervalMillis}: no context switch
 * per event. Each record reaches the consumer as a copy; nothing may escape the upcall, so a
 * failing consumer is logged and counted, never thrown.
 */
public final class RingBufferReader implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(RingBufferReader.class.getName());

  private final Arena arena = Arena.ofShared();
  private final Consumer<byte[]> consumer;
  private final Runnable afterDrain;
  private final MemorySegment ring;
  private final Thread thread;
  private final long intervalMillis;
  private volatile boolean running = true;
  private volatile long consumerErrors;

  public RingBufferReader(BpfMap map, long intervalMillis, Consumer<byte[]> consumer) {
    this(map, intervalMillis, consumer, () -> {});
  }

  /**
   * @param afterDrain runs on the reader's thread after each drain (a batch is complete), also when
   *     the drain found nothing
   */
  public RingBufferReader(
      BpfMap map, long intervalMillis, Consumer<byte[]> consumer, Runnable afterDrain) {
    this.consumer = consumer;
    this.afterDrain = afterDrain;
    this.intervalMillis = intervalMillis;
    try {
      MemorySegment stub =
          Libbpf.LINKER.upcallStub(
              MethodHandles.lookup()
                  .bind(
                      this,
                      "onRecord",
                      MethodType.methodType(
                          int.class, MemorySegment.class, MemorySegment.class, long.class)),
              FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
              arena);
      MemorySegment errno = arena.allocate(Libbpf.ERRNO_STATE);
      ring =
          (MemorySegment)
              Libbpf.RING_BUFFER_NEW.invokeExact(
                  errno, map.fd(), stub, MemorySegment.NULL, MemorySegment.NULL);
      if (ring.equals(MemorySegment.NULL)) {
        arena.close();
        throw new BpfException("open ring buffer " + map.name(), Libbpf.errno(errno));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
    thread = Thread.ofPlatform().name("porin-events-" + map.name()).daemon().start(this::loop);
  }

  private int onRecord(MemorySegment ctx, MemorySegment data, long size) {
    try {
      consumer.accept(data.reinterpret(size).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    } catch (Throwable t) {
      consumerErrors++;
      if (consumerErrors < 10) {
        LOG.log(Level.WARNING, "event consumer failed", t);
      }
    }
    return 0;
  }

  /** Drains whatever is in the ring now; returns the number of records. */
  public int drain() {
    try {
      return (int) Libbpf.RING_BUFFER_CONSUME.invokeExact(ring);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private void loop() {
    while (running) {
      try {
        synchronized (this) {
          if (running) {
            drain();
            afterDrain.run();
          }
        }
        Thread.sleep(intervalMillis);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "draining events failed", e);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      try {
        Libbpf.RING_BUFFER_FREE.invokeExact(ring);
      } catch (Throwable t) {
        throw rethrow(t);
      }
      arena.close();
    }
  }
}
