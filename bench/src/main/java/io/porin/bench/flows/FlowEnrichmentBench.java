package io.porin.bench.flows;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.flow.FlowBuilder;
import io.porin.agent.flow.FlowPipeline;
import io.porin.agent.flow.FlowRing;
import io.porin.agent.policy.Cookies;
import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.RuleRef;
import io.porin.core.resource.ResourceKind;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The agent's flow path on one core, in process: ring records (as the kernel writes them) through
 * decoding, enrichment (both endpoints, labels, policy attribution), Hubble metrics and the flow
 * ring — exactly {@link FlowPipeline}, the code the agent runs. The cluster it enriches against:
 * 100 local endpoints, 10,000 remote pods, 10,000 identities, 1,000 rule cookies; the records mix
 * allowed connections, default-deny and explicit-deny drops, TCP and UDP, with a new 5-tuple each.
 * The baseline, measured in the same run, is decoding alone (the least any consumer of the ring
 * does). Reports flows per second and the ratio to the baseline.
 *
 * <p>Usage: {@code FlowEnrichmentBench [RECORDS] [ROUNDS]} (defaults 1,000,000, 7).
 */
public final class FlowEnrichmentBench {
  private FlowEnrichmentBench() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    Cookies cookies = new Cookies();
    int[] cookieIds = new int[1000];
    for (int i = 0; i < cookieIds.length; i++) {
      PolicyRef p =
          new PolicyRef(ResourceKind.CILIUM_NETWORK_POLICY, "ns-" + (i % 100), "policy-" + i);
      cookieIds[i] =
          i % 10 == 0
              ? cookies.ofDefault(List.of(p))
              : cookies.ofRules(List.of(new RuleRef(p, "ingress", i % 3)));
    }
    Map<Integer, FlowBuilder.LocalEndpoint> local = new HashMap<>();
    for (int i = 1; i <= 100; i++) {
      local.put(
          i,
          new FlowBuilder.LocalEndpoint(
              i,
              "ns-" + i % 10,
              "pod-" + i,
              List.of("k8s:app=app-" + i, "k8s:tier=web"),
              "lxc" + i));
    }
    Map<InetAddress, FlowBuilder.RemotePeer> peers = new HashMap<>();
    List<InetAddress> peerIps = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      InetAddress a = InetAddress.ofLiteral("10.201." + (i / 250) + "." + (i % 250 + 1));
      peers.put(a, new FlowBuilder.RemotePeer("ns-" + i % 100, "remote-" + i, "node-" + i % 50, i));
      peerIps.add(a);
    }
    Map<Integer, List<String>> labels = new HashMap<>();
    for (int i = 0; i < 10_000; i++) {
      labels.put(
          65536 + i, List.of("k8s:app=app-" + i, "k8s:io.kubernetes.pod.namespace=ns-" + i % 100));
    }
    FlowBuilder.Directory directory =
        new FlowBuilder.Directory() {
          @Override
          public Optional<FlowBuilder.LocalEndpoint> local(int id) {
            return Optional.ofNullable(local.get(id));
          }

          @Override
          public Optional<FlowBuilder.RemotePeer> peer(InetAddress a) {
            return Optional.ofNullable(peers.get(a));
          }

          @Override
          public List<String> labels(int identity) {
            return labels.getOrDefault(identity, List.of());
          }

          @Override
          public Optional<Cookies.Attribution> attribution(int cookie) {
            return cookies.resolve(cookie);
          }
        };

    List<byte[]> records = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      records.add(record(i, peerIps.get(i % peerIps.size()), cookieIds[i % cookieIds.length]));
    }
    System.out.printf(
        "%,d records (%d bytes each), %d rounds; one thread%n",
        n, records.getFirst().length, rounds);

    List<Double> base = new ArrayList<>();
    List<Double> full = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      long sink = 0;
      for (byte[] b : records) {
        sink += DatapathEvent.decode(b).sourcePort();
      }
      double baseRate = n / ((System.nanoTime() - t0) / 1e9);
      FlowPipeline pipeline =
          new FlowPipeline(
              new FlowBuilder("node-1", directory),
              new FlowRing(4095),
              null,
              new SimpleMeterRegistry(),
              () -> 0);
      t0 = System.nanoTime();
      int batch = 0;
      for (byte[] b : records) {
        pipeline.accept(b);
        if (++batch == 4096) { // a drain's worth, then the batch goes to the ring
          pipeline.flush();
          batch = 0;
        }
      }
      pipeline.flush();
      double fullRate = n / ((System.nanoTime() - t0) / 1e9);
      base.add(baseRate);
      full.add(fullRate);
      System.out.printf(
          "round %d: decode only %,.0f/s; decode+enrich+metrics+ring %,.0f flows/s (%.2f×) [%d]%n",
          r + 1, baseRate, fullRate, fullRate / baseRate, sink % 10);
    }
    // The first two rounds warm the JIT.
    List<Double> b = base.subList(Math.min(2, rounds - 1), rounds);
    List<Double> f = full.subList(Math.min(2, rounds - 1), rounds);
    System.out.printf(
        "median after warm-up: decode only %,.0f/s; full flow path %,.0f flows/s per core (%.2f× the baseline)%n",
        median(b), median(f), median(f) / median(b));
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    return s.get(s.size() / 2);
  }

  /** One porin_event as the kernel writes it (the layout from porin_maps.h via MapLayouts). */
  static byte[] record(int i, InetAddress peer, int cookie) {
    ByteBuffer b =
        ByteBuffer.allocate((int) MapLayouts.EVENT.byteSize()).order(ByteOrder.nativeOrder());
    boolean ingress = i % 2 == 0;
    int kind = i % 10; // 0-6 allowed, 7-8 default deny, 9 explicit deny
    b.putLong(off("timestamp"), System.nanoTime());
    b.putInt(off("ifindex"), 10 + i % 100);
    b.putInt(off("endpoint_id"), 1 + i % 100);
    b.putInt(off("src_identity"), ingress ? 65536 + i % 10_000 : 70_000);
    b.putInt(off("dst_identity"), ingress ? 70_000 : 65536 + i % 10_000);
    b.putInt(off("cookie"), cookie);
    b.putInt(off("policy_revision"), 7);
    byte[] localIp = {10, (byte) 200, 0, (byte) (1 + i % 100)};
    byte[] peerIp = peer.getAddress();
    b.put(off("saddr"), ingress ? peerIp : localIp);
    b.put(off("daddr"), ingress ? localIp : peerIp);
    b.order(ByteOrder.BIG_ENDIAN);
    b.putShort(off("sport"), (short) (1024 + i % 60_000));
    b.putShort(off("dport"), (short) (i % 3 == 0 ? 53 : 8080));
    b.order(ByteOrder.nativeOrder());
    b.put(off("family"), (byte) MapLayouts.FAMILY_IPV4);
    b.put(off("protocol"), (byte) (i % 3 == 0 ? 17 : 6));
    b.put(off("direction"), (byte) (ingress ? MapLayouts.DIR_INGRESS : MapLayouts.DIR_EGRESS));
    b.put(
        off("verdict"),
        (byte) (kind < 7 ? MapLayouts.VERDICT_FORWARDED : MapLayouts.VERDICT_DROPPED));
    b.putShort(off("reason"), (short) (kind < 7 ? 0 : kind < 9 ? 133 : 181));
    b.put(off("tcp_flags"), (byte) 0x02);
    b.put(off("match_type"), (byte) 2);
    b.put(
        off("event_type"),
        (byte) (kind < 7 ? MapLayouts.EVENT_POLICY_VERDICT : MapLayouts.EVENT_DROP));
    b.putInt(off("length"), 60);
    return b.array();
  }

  private static int off(String field) {
    return MapLayouts.offset(MapLayouts.EVENT, field);
  }
}
