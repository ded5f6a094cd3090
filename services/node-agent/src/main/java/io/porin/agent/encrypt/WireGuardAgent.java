package io.porin.agent.encrypt;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.porin.agent.datapath.Encryption;
import io.porin.agent.net.Command;
import io.porin.agent.net.ProcSys;
import io.porin.core.ipam.Cidr;
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
  private final ProcSys sys;
  private volatile WireGuardKeys keys;
  private WireGuardDevice device;
  private PeerSync peers;
  private AutoCloseable watch;

  /**
   * @param republish writes this node's record again (after a rotation: the new public key)
   */
  public WireGuardAgent(
      String node,
      Path stateDir,
      int port,
      boolean strict,
      Encryption datapath,
      Runnable republish,
      ProcSys sys)
      throws IOException {
    this.node = node;
    this.sys = sys;
    this.keyFile = stateDir.resolve("wireguard/private.key");
    this.port = port;
    this.strict = strict;
    this.datapath = datapath;
    this.republish = republish;
    this.keys = WireGuardKeys.loadOrCreate(keyFile);
  }

  /** Connected clusters' nodes: WireGuard peers too when their cluster has encryption on. */
  public void setRemote(List<io.porin.core.mesh.MeshImports.RemoteNode> nodes) {
    PeerSync p = peers;
    if (p != null) {
      p.setRemote(nodes);
    }
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

  /**
   * Brings the device up (kernel, else userspace) and follows the node list.
   *
   * @param own this node's pod prefixes and addresses (no other node may claim them)
   */
  public void start(KvStore kv, int mtu, List<Cidr> own) throws IOException {
    this.own = List.copyOf(own);
    var kernel = KernelDevice.create(DEVICE);
    if (kernel.isPresent()) {
      device = kernel.get();
    } else {
      LOG.infof("no WireGuard kernel module: %s runs in wireguard-go (userspace)", DEVICE);
      device =
          UserspaceDevice.start(DEVICE, keyFile.getParent().resolve("run"), () -> restarted(mtu));
    }
    peers = new PeerSync(node, port, this.own, device, datapath);
    WireGuardDevice.Status before = device.status();
    Set<String> keysBefore = new HashSet<>();
    before.peers().forEach(p -> keysBefore.add(p.publicKey()));
    peers.adopt(keysBefore, datapath.prefixes());
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

  private List<Cidr> own = List.of();

  /**
   * The device configured and up, the datapath pointed at it (first: a restarted wireguard-go has a
   * new index), and what comes out of it kept to this node: decrypted packets reach this node's
   * pods and addresses only (a peer cannot relay through this node; a packet for a pod that is gone
   * here is unreachable, not routed on in clear), checked loosely against their source (the way
   * back to another node's pods is the uplink).
   */
  private void bringUp(int mtu) {
    Command.ip("link", "set", "dev", DEVICE, "mtu", Integer.toString(mtu), "up");
    datapath.setMode(device.ifindex(), true, strict);
    device.configure(keys, port);
    // the device has no address: any reverse-path check (strict or loose) would drop every
    // decrypted packet; their sources are checked by WireGuard itself (the peer's allowed IPs)
    sysctl("net/ipv4/conf/" + DEVICE + "/rp_filter", "0");
    try {
      String all = sys.read("net/ipv4/conf/all/rp_filter");
      if (!all.equals("0")) {
        LOG.warnf(
            "net.ipv4.conf.all.rp_filter=%s: the kernel drops what %s decrypts (IPv4) unless it"
                + " is 0",
            all, DEVICE);
      }
    } catch (IOException e) {
      LOG.debugf(e, "reading rp_filter");
    }
    for (Cidr c : own) {
      boolean v6 = c.family() == Cidr.Family.IPV6;
      String family = v6 ? "-6" : "-4";
      boolean host = c.prefixLength() == (v6 ? 128 : 32);
      if (!host) {
        // a pod that is gone: unreachable (each live pod has its own, longer route)
        Command.tryIp(family, "route", "replace", "unreachable", c.toString());
      }
      Command.tryIp(
          family,
          "rule",
          "del",
          "pref",
          Integer.toString(RULE_PREF),
          "iif",
          DEVICE,
          "to",
          c.toString());
      Command.ip(
          family,
          "rule",
          "add",
          "pref",
          Integer.toString(RULE_PREF),
          "iif",
          DEVICE,
          "to",
          c.toString(),
          "lookup",
          "main");
    }
    for (String family : List.of("-4", "-6")) {
      Command.tryIp(family, "rule", "del", "pref", Integer.toString(RULE_PREF + 1), "iif", DEVICE);
      Command.ip(
          family,
          "rule",
          "add",
          "pref",
          Integer.toString(RULE_PREF + 1),
          "iif",
          DEVICE,
          "prohibit");
    }
  }

  /** The routing rules' preference: after the local table (0), before main (32766). */
  static final int RULE_PREF = 1710;

  private void sysctl(String key, String value) {
    try {
      sys.write(key, value);
    } catch (IOException e) {
      LOG.warn(e.getMessage());
    }
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

  /** A peer as the device reports it, and the node whose key it is (empty: none known). */
  public record PeerView(String node, WireGuardDevice.PeerStatus device) {}

  /** What {@code porin encrypt status} shows for this node. */
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
      out.add(new PeerView(peers.nodeOfKey(p.publicKey()), p));
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
          for (PeerView v : s.peers()) {
            WireGuardDevice.PeerStatus p = v.device();
            Tags tags = Tags.of("peer", v.node().isEmpty() ? p.publicKey() : v.node());
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
