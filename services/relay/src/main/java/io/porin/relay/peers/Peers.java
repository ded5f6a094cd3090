package io.porin.relay.peers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.porin.service.tls.ClusterChannels;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The nodes whose agents the relay asks: discovered from etcd (each agent publishes its node with
 * its addresses under /porin/v1/nodes/), or fixed by configuration. One gRPC channel per node, kept
 * while the node is there.
 */
public final class Peers implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Peers.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A node and where its agent is. */
  public record Peer(String node, String address) {}

  private final int agentPort;
  private final AtomicReference<Map<String, Peer>> peers = new AtomicReference<>(Map.of());
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, String> discovered = new HashMap<>();
  private volatile boolean synced;
  private AutoCloseable watch;

  private final Optional<ClusterTls> tls;

  private Peers(int agentPort, Optional<ClusterTls> tls) {
    this.agentPort = agentPort;
    this.tls = tls;
  }

  /** Fixed peers ({@code node=host:port}). */
  public static Peers fixed(List<String> agents, Optional<ClusterTls> tls) {
    Peers p = new Peers(0, tls);
    Map<String, Peer> m = new TreeMap<>();
    for (String a : agents) {
      int eq = a.indexOf('=');
      if (eq <= 0 || eq == a.length() - 1) {
        throw new IllegalArgumentException(
            "porin.relay.agents: \"" + a + "\" is not node=host:port");
      }
      m.put(a.substring(0, eq), new Peer(a.substring(0, eq), a.substring(eq + 1)));
    }
    p.peers.set(Map.copyOf(m));
    p.synced = true;
    return p;
  }

  /** Peers discovered from etcd, kept current by a watch. */
  public static Peers discovered(KvStore kv, int agentPort, Optional<ClusterTls> tls) {
    Peers p = new Peers(agentPort, tls);
    p.watch =
        kv.watch(
            Keys.Nodes.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                synchronized (p) {
                  p.discovered.clear();
                  snapshot.entries().forEach(e -> p.put(e.key(), e.value()));
                  p.publish();
                }
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                synchronized (p) {
                  for (WatchEvent e : events) {
                    if (e.type() == WatchEvent.Type.DELETE) {
                      p.discovered.remove(e.entry().key().substring(Keys.Nodes.PREFIX.length()));
                    } else {
                      p.put(e.entry().key(), e.entry().value());
                    }
                  }
                  p.publish();
                }
              }
            });
    return p;
  }

  private void put(String key, String value) {
    try {
      JsonNode n = JSON.readTree(value);
      // the node is the one the key names: only its certificate writes that key
      String name = key.substring(Keys.Nodes.PREFIX.length());
      if (!n.path("name").asText(name).equals(name)) {
        LOG.warnf("ignoring node %s: its record names node %s", key, n.path("name").asText());
        return;
      }
      JsonNode addresses = n.path("addresses");
      if (addresses.isEmpty()) {
        return;
      }
      String a = addresses.get(0).asText();
      discovered.put(name, (a.contains(":") ? "[" + a + "]" : a) + ":" + agentPort);
    } catch (IOException e) {
      LOG.warnf("ignoring node %s: %s", key, e.getMessage());
    }
  }

  private void publish() {
    Map<String, Peer> m = new TreeMap<>();
    discovered.forEach((n, a) -> m.put(n, new Peer(n, a)));
    peers.set(Map.copyOf(m));
    synced = true;
    for (String gone : List.copyOf(channels.keySet())) {
      Peer p = m.get(gone.substring(0, gone.indexOf('@')));
      if (p == null || !gone.endsWith("@" + p.address())) {
        ManagedChannel c = channels.remove(gone);
        if (c != null) {
          c.shutdownNow();
        }
      }
    }
  }

  public boolean synced() {
    return synced;
  }

  /** The nodes now, by name. */
  public List<Peer> all() {
    return List.copyOf(new TreeMap<>(peers.get()).values());
  }

  /** Runs {@code r} after this relay's certificate was renewed (see ClusterTls#onRenewed). */
  public AutoCloseable onRenewed(Runnable r) {
    return tls.map(t -> t.onRenewed(r)).orElse(() -> {});
  }

  /** The channel to a node's agent, which must prove it is that node's agent. */
  public ManagedChannel channel(Peer p) {
    return ClusterChannels.reviving(
        channels.computeIfAbsent(
            p.node() + "@" + p.address(),
            k ->
                ClusterChannels.renewing(
                    p.address(), tls, PeerIdentity.node(p.node()), 64 * 1024 * 1024)));
  }

  @Override
  public void close() throws Exception {
    if (watch != null) {
      watch.close();
    }
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
