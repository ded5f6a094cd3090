package io.porin.agent.encrypt;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.porin.agent.datapath.Encryption;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Transparent encryption on this node: the key pair (made once, kept in the state directory), the
 * device (the kernel's where the module exists, else wireguard-go), one peer per other node that
 * publishes a key, the datapath steering pod traffic to those peers' pods into the device, and key
 * rotation. The public key goes into this node's record ({@link #publicKey}).
 */
public final class WireGuardAgent implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(WireGuardAgent.class);
  public static final String DEVICE = "porin_wg0";

  /** WireGuard's overhead on an IPv6 underlay: outer IPv6 40, UDP 8, WireGuard 32. */
  public static final int OVERHEAD = 80;

  private final String node;
  private final Path keyFile;
  private final int port;
  private final boolean strict;
  private final Encryption datapath;
  private final Runnable republish;
  private volatile WireGuardKeys keys;
  private WireGuardDevice device;
  private PeerSync peers;
  private AutoCloseable watch;

  /**
   * @param republish writes this node's record again (after a rotation: the new public key)
   */
  public WireGuardAgent(
      String node, Path stateDir, int port, boolean strict, Encryption datapath, Runnable republish)
      throws IOException {
    this.node = node;
    this.keyFile = stateDir.resolve("wireguard/private.key");
    this.port = port;
    this.strict = strict;
    this.datapath = datapath;
    this.republish = republish;
    this.keys = WireGuardKeys.loadOrCreate(keyFile);
  }

  /** The public key to publish (base64). */
  public String publicKey() {
    return keys.publicBase64();
  }

  public int port() {
    return port;
  }

  public boolean strict() {
    return strict;
  }

  /** Brings the device up (kernel, else userspace) and follows the node list. */
  public void start(KvStore kv, int mtu) throws IOException {
    var kernel = KernelDevice.create(DEVICE);
    if (kernel.isPresent()) {
      device = kernel.get();
    } else {
      LOG.infof("no WireGuard kernel module: %s runs in wireguard-go (userspace)", DEVICE);
      device =
          UserspaceDevice.start(DEVICE, keyFile.getParent().resolve("run"), () -> restarted(mtu));
    }
    peers = new PeerSync(node, port, device, datapath);
    WireGuardDevice.Status before = device.status();
    Set<String> keysBefore = new HashSet<>();
    before.peers().forEach(p -> keysBefore.add(p.publicKey()));
    peers.adopt(keysBefore, datapath.peerPrefixes());
    bringUp(mtu);
    LOG.infof(
        "WireGuard %s (%s) on UDP %d, public key %s%s",
        DEVICE,
        device.mode(),
        port,
        keys.publicBase64(),
        before.peers().isEmpty() ? "" : ", " + before.peers().size() + " peers kept from before");
    watch = kv.watch(Keys.Nodes.PREFIX, 0, listener());
  }

  private void bringUp(int mtu) {
    device.configure(keys, port);
    io.porin.agent.net.Command.ip("link", "set", "dev", DEVICE, "mtu", Integer.toString(mtu), "up");
    datapath.setMode(device.ifindex(), true, strict);
  }

  private void restarted(int mtu) {
    bringUp(mtu);
    peers.reapply();
  }

  private WatchListener listener() {
    return new WatchListener() {
      @Override
      public void onReset(Snapshot snapshot) {
        Map<String, String> records = new LinkedHashMap<>();
        for (Entry e : snapshot.entries()) {
          records.put(e.key().substring(Keys.Nodes.PREFIX.length()), e.value());
        }
        peers.reset(records);
      }

      @Override
      public void onEvents(List<WatchEvent> events) {
        for (WatchEvent e : events) {
          String name = e.entry().key().substring(Keys.Nodes.PREFIX.length());
          if (e.type() == WatchEvent.Type.DELETE) {
            peers.remove(name);
          } else {
            peers.put(name, e.entry().value());
          }
        }
      }
    };
  }

  /**
   * A new key pair: saved, given to the device, published. Peers learn it from this node's record
   * and replace the old key in one change; established connections carry on after a handshake.
   */
  public synchronized String rotate() throws IOException {
    WireGuardKeys next = WireGuardKeys.generate();
    next.save(keyFile);
    keys = next;
    device.configure(next, port);
    republish.run();
    LOG.infof("WireGuard key rotated: public key %s", next.publicBase64());
    return next.publicBase64();
  }

  /** What {@code porin encrypt status} shows for this node. */
  public record PeerView(
      String node,
      String publicKey,
      String endpoint,
      List<String> allowedIps,
      long lastHandshakeEpochSeconds,
      long receivedBytes,
      long sentBytes) {}

  public record StatusView(
      String mode,
      String device,
      int port,
      String publicKey,
      boolean strict,
      int expectedPeers,
      List<PeerView> peers) {}

  public StatusView status() {
    WireGuardDevice.Status s = device.status();
    List<PeerView> out = new ArrayList<>();
    for (WireGuardDevice.PeerStatus p : s.peers()) {
      out.add(
          new PeerView(
              peers.nodeOfKey(p.publicKey()),
              p.publicKey(),
              p.endpoint(),
              p.allowedIps(),
              p.lastHandshakeEpochSeconds(),
              p.receivedBytes(),
              p.sentBytes()));
    }
    return new StatusView(
        device.mode(), DEVICE, s.listenPort(), s.publicKey(), strict, peers.otherNodes(), out);
  }

  /** porin_wireguard_peers, _handshake_age_seconds{peer}, _received/_sent_bytes{peer}. */
  public void registerMetrics(MeterRegistry registry) {
    Gauge.builder("porin_wireguard_peers", () -> peers == null ? 0 : peers.peers().size())
        .description("WireGuard peers configured on this node")
        .register(registry);
    MultiGauge age =
        MultiGauge.builder("porin_wireguard_handshake_age_seconds")
            .description("Seconds since the last handshake with a peer (-1: none yet)")
            .register(registry);
    MultiGauge rx =
        MultiGauge.builder("porin_wireguard_received_bytes")
            .description("Bytes received from a peer")
            .register(registry);
    MultiGauge tx =
        MultiGauge.builder("porin_wireguard_sent_bytes")
            .description("Bytes sent to a peer")
            .register(registry);
    metricsRefresh =
        () -> {
          StatusView s = status();
          long now = Instant.now().getEpochSecond();
          List<MultiGauge.Row<?>> a = new ArrayList<>();
          List<MultiGauge.Row<?>> r = new ArrayList<>();
          List<MultiGauge.Row<?>> t = new ArrayList<>();
          for (PeerView p : s.peers()) {
            Tags tags = Tags.of("peer", p.node().isEmpty() ? p.publicKey() : p.node());
            a.add(
                MultiGauge.Row.of(
                    tags,
                    p.lastHandshakeEpochSeconds() == 0 ? -1 : now - p.lastHandshakeEpochSeconds()));
            r.add(MultiGauge.Row.of(tags, p.receivedBytes()));
            t.add(MultiGauge.Row.of(tags, p.sentBytes()));
          }
          age.register(a, true);
          rx.register(r, true);
          tx.register(t, true);
        };
  }

  private volatile Runnable metricsRefresh = () -> {};

  /** Reads the device's counters into the metrics (once a second). */
  public void refreshMetrics() {
    try {
      metricsRefresh.run();
    } catch (RuntimeException e) {
      LOG.debugf(e, "WireGuard metrics");
    }
  }

  /** Stops following; the device keeps carrying traffic (as the datapath's programs do). */
  @Override
  public void close() {
    if (watch != null) {
      try {
        watch.close();
      } catch (Exception e) {
        LOG.debugf(e, "closing the node watch");
      }
    }
    if (device != null) {
      device.close();
    }
  }
}
