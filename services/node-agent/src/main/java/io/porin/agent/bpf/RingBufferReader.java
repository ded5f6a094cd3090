package io.porin.agent.bpf;

import static io.porin.agent.bpf.Libbpf.rethrow;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Drains a BPF ring buffer in batches on one platform thread. The datapath writes without waking
 * anyone (BPF_RB_NO_WAKEUP), so this reader looks every {@code intervalMillis}: no context switch
 * per event. It reads the ring through its own mapping of the map's pages (the kernel's ring
 * layout, as libbpf's ring_buffer__consume does) rather than a native callback per record: a record
 * costs a copy into Java, not a native-to-Java transition. Each record reaches the consumer as a
 * copy; a failing consumer is logged and counted, and draining goes on.
 *
 * <p>Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (written here), page 1 the
 * producer position, then the data area, mapped twice in a row so that a record that wraps around
 * is contiguous. Each record starts with a header: its length (bit 31: still being written, bit 30:
 * discarded) and a page offset; records are 8-byte aligned.
 */
public final class RingBufferReader implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(RingBufferReader.class.getName());
  private static final VarHandle POSITION = ValueLayout.JAVA_LONG.varHandle();
  private static final VarHandle LENGTH = ValueLayout.JAVA_INT.varHandle();
  private static final int BUSY = 1 << 31;
  private static final int DISCARD = 1 << 30;
  private static final int HEADER = 8;

  private final Consumer<byte[]> consumer;
  private final Runnable afterDrain;
  private final long intervalMillis;
  private final MemorySegment consumerPage;
  private final MemorySegment producerPages;
  private final MemorySegment data;
  private final long mask;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile long consumerErrors;
  private boolean closed;

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
    long size = map.maxEntries();
    try {
      long page = (int) Libbpf.GETPAGESIZE.invokeExact();
      consumerPage = mmap(map, page, 0x1 | 0x2, 0); // PROT_READ | PROT_WRITE
      producerPages = mmap(map, page + 2 * size, 0x1, page); // PROT_READ
      data = producerPages.asSlice(page, 2 * size);
      mask = size - 1;
    } catch (Throwable t) {
      throw rethrow(t);
    }
    thread = Thread.ofPlatform().name("porin-events-" + map.name()).daemon().start(this::loop);
  }

  private static MemorySegment mmap(BpfMap map, long length, int prot, long offset)
      throws Throwable {
    MemorySegment at =
        (MemorySegment)
            Libbpf.MMAP.invokeExact(
                MemorySegment.NULL, length, prot, 0x01 /* MAP_SHARED */, map.fd(), offset);
    if (at.address() == -1L) {
      throw new BpfException("mmap of ring buffer " + map.name() + " failed");
    }
    return at.reinterpret(length);
  }

  /** Drains whatever is in the ring now; returns the number of records. */
  public synchronized int drain() {
    if (closed) {
      return 0;
    }
    int records = 0;
    long cons = (long) POSITION.getAcquire(consumerPage, 0L);
    while (true) {
      long prod = (long) POSITION.getAcquire(producerPages, 0L);
      if (cons >= prod) {
        return records;
      }
      while (cons < prod) {
        long at = cons & mask;
        int len = (int) LENGTH.getAcquire(data, at);
        if ((len & BUSY) != 0) {
          return records; // the producer is still writing it: next drain
        }
        int payload = len & ~(BUSY | DISCARD);
        cons += (payload + HEADER + 7) & ~7L;
        if ((len & DISCARD) == 0) {
          byte[] record = new byte[payload];
          MemorySegment.copy(data, ValueLayout.JAVA_BYTE, at + HEADER, record, 0, payload);
          records++;
          try {
            consumer.accept(record);
          } catch (RuntimeException e) {
            consumerErrors++;
            if (consumerErrors < 10) {
              LOG.log(Level.WARNING, "event consumer failed", e);
            }
          }
        }
        POSITION.setRelease(consumerPage, 0L, cons);
      }
    }
  }

  private void loop() {
    while (running) {
      try {
        drain();
        afterDrain.run();
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
      if (closed) {
        return;
      }
      closed = true;
      try {
        int a = (int) Libbpf.MUNMAP.invokeExact(consumerPage, consumerPage.byteSize());
        int b = (int) Libbpf.MUNMAP.invokeExact(producerPages, producerPages.byteSize());
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
  }
}
