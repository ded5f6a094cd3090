package io.porin.service.tls;

import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The audit log of changes, kept in etcd ({@code /porin/v1/audit/<service>/...}) so that every
 * replica's records are in one place and survive restarts: one JSON object per record (time,
 * service, who by certificate, action, resource, result, detail). Also written to this service's
 * log, so that nothing is lost while etcd is away.
 */
public final class AuditLog {
  private static final Logger LOG = Logger.getLogger("porin.audit");

  private final KvStore kv;
  private final String service;
  private final AtomicLong sequence = new AtomicLong();

  public AuditLog(KvStore kv, String service) {
    this.kv = kv;
    this.service = service;
  }

  /**
   * Records a change.
   *
   * @param action {@code apply}, {@code delete}, {@code allocate}, {@code revoke}, ...
   * @param resource what it acted on ({@code CiliumNetworkPolicy demo/allow-api}, ...)
   * @param result {@code ok}, or the gRPC status it ended with
   */
  public void record(Caller who, String action, String resource, String result, String detail) {
    Instant now = Instant.now();
    String json =
        "{\"time\":"
            + quote(now.toString())
            + ",\"service\":"
            + quote(service)
            + ",\"who\":"
            + quote(who.name())
            + ",\"action\":"
            + quote(action)
            + ",\"resource\":"
            + quote(resource)
            + ",\"result\":"
            + quote(result)
            + (detail == null || detail.isEmpty() ? "" : ",\"detail\":" + quote(detail))
            + "}";
    LOG.info(json);
    try {
      kv.put(
          Keys.Audit.record(service, now.toEpochMilli(), sequence.incrementAndGet() % 1_000_000),
          json,
          0);
    } catch (RuntimeException e) {
      LOG.warnf("audit record not stored in etcd (kept in this log): %s", e.getMessage());
    }
  }

  /** Every record at or after {@code since} (null: all), oldest first, of every service. */
  public List<String> list(Instant since) {
    long from = since == null ? 0 : since.toEpochMilli();
    List<Entry> entries = new ArrayList<>();
    for (Entry e : kv.list(Keys.Audit.PREFIX).entries()) {
      if (Keys.Audit.millisOf(e.key()) >= from) {
        entries.add(e);
      }
    }
    entries.sort(
        Comparator.comparingLong((Entry e) -> Keys.Audit.millisOf(e.key()))
            .thenComparing(Entry::key));
    return entries.stream().map(Entry::value).toList();
  }

  /** Deletes every service's records older than {@code before}; how many went. */
  public int trim(Instant before) {
    int n = 0;
    for (Entry e : kv.list(Keys.Audit.PREFIX).entries()) {
      long at = Keys.Audit.millisOf(e.key());
      if (at >= 0 && at < before.toEpochMilli() && kv.delete(e.key())) {
        n++;
      }
    }
    return n;
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : (s == null ? "" : s).toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
