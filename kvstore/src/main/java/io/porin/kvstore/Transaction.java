package io.porin.kvstore;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A compare-and-swap transaction: when every condition holds, every write is applied, all at one
 * revision; otherwise nothing is written and the reads of {@link #orElseGet} are returned. Build
 * with {@link KvStore#transaction()}, run with {@link #commit()}.
 */
public final class Transaction {
  private final KvStore store;
  final List<Cmp> conditions = new ArrayList<>();
  final List<Op> writes = new ArrayList<>();
  final List<Op> elseReads = new ArrayList<>();

  Transaction(KvStore store) {
    this.store = store;
  }

  /** The key does not exist. */
  public Transaction ifAbsent(String key) {
    conditions.add(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.version(0)));
    return this;
  }

  /** The key exists. */
  public Transaction ifPresent(String key) {
    conditions.add(new Cmp(bytes(key), Cmp.Op.GREATER, CmpTarget.version(0)));
    return this;
  }

  /** The key exists with exactly this value. */
  public Transaction ifValue(String key, String value) {
    conditions.add(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.value(bytes(value))));
    return this;
  }

  /** The key was last written at this revision (0: the key is absent). */
  public Transaction ifModRevision(String key, long modRevision) {
    conditions.add(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)));
    return this;
  }

  /** Write the key, attached to a lease when {@code lease} is not 0. */
  public Transaction put(String key, String value, long lease) {
    PutOption.Builder opt = PutOption.builder();
    if (lease != 0) {
      opt.withLeaseId(lease);
    }
    writes.add(Op.put(bytes(key), bytes(value), opt.build()));
    return this;
  }

  /** Write the key without a lease. */
  public Transaction put(String key, String value) {
    return put(key, value, 0);
  }

  /** Delete the key. */
  public Transaction delete(String key) {
    writes.add(Op.delete(bytes(key), DeleteOption.DEFAULT));
    return this;
  }

  /** Delete every key under the prefix. */
  public Transaction deletePrefix(String prefix) {
    writes.add(Op.delete(bytes(prefix), DeleteOption.builder().isPrefix(true).build()));
    return this;
  }

  /** When a condition fails, read this key (returned in {@link Result#reads()}). */
  public Transaction orElseGet(String key) {
    elseReads.add(Op.get(bytes(key), GetOption.DEFAULT));
    return this;
  }

  /** Runs the transaction. */
  public Result commit() {
    return store.commit(this);
  }

  /**
   * What a transaction did.
   *
   * @param succeeded whether every condition held (and every write was applied)
   * @param revision the store's revision after the transaction
   * @param reads for a failed transaction, the keys read by {@link #orElseGet}, in order; an absent
   *     key reads as {@code null}
   */
  public record Result(boolean succeeded, long revision, List<Entry> reads) {}

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, java.nio.charset.StandardCharsets.UTF_8);
  }
}
