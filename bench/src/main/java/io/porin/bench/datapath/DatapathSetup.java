package io.porin.bench.datapath;

import io.porin.agent.bpf.DatapathEvent;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.RingBufferReader;
import io.porin.agent.bpf.Tc;
import io.porin.agent.datapath.EndpointConfig;
import io.porin.agent.datapath.PolicyContent;
import io.porin.agent.datapath.PolicyKey;
import io.porin.agent.datapath.PolicyValue;
import io.porin.core.ipam.Cidr;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Puts Porin's datapath on one node of the datapath benchmark, with a realistic load: the ipcache
 * holds {@code IPCACHE} entries (every pod of the benchmark plus other pod addresses with
 * identities of their own), each local pod's policy map {@code POLICY} entries (every benchmark pod
 * allowed on the benchmark ports, both directions, the rest other identities on other ports), both
 * directions enforced, and the event ring drained every 50 ms and decoded (flows on). Runs in the
 * node's namespace until stdin closes; the programs stay attached until the script removes them.
 *
 * <pre>
 * DatapathSetup PIN_DIR IPCACHE POLICY PORTS \
 *   --pod HOST_IF,IP,POD_MAC,HOST_MAC,IDENTITY ... [--peer IP,IDENTITY ...] [--device IF ...]
 *   [--services COUNT,BACKENDS,VIP,PORT,TARGET_IP,TARGET_PORT] [--socket-lb CGROUP]
 * </pre>
 *
 * <p>{@code --services}: COUNT services of BACKENDS backends each, programmed through the agent's
 * own service sync; the first is VIP:PORT with the one backend TARGET_IP:TARGET_PORT (a real
 * server), the others have addresses of their own. Prints how long programming took. {@code
 * --socket-lb}: socket load balancing on that cgroup v2 directory.
 *
 * <p>{@code --device}: one of the node's uplinks (host routing between nodes, as the agent sets it
 * up on the interfaces holding the node's addresses).
 */
public final class DatapathSetup {
  private DatapathSetup() {}

  record Pod(String hostIf, String ip, String podMac, String hostMac, int identity) {}

  public static void main(String[] args) throws Exception {
    Path pins = Path.of(args[0]);
    int ipcacheEntries = Integer.parseInt(args[1]);
    int policyEntries = Integer.parseInt(args[2]);
    List<Integer> ports = new ArrayList<>();
    for (String p : args[3].split(",")) {
      ports.add(Integer.parseInt(p));
    }
    List<Pod> local = new ArrayList<>();
    List<String> devices = new ArrayList<>();
    String services = null;
    String socketLb = null;
    Map<String, Integer> everyPod = new LinkedHashMap<>();
    for (int i = 4; i + 1 < args.length; i += 2) {
      String[] f = args[i + 1].split(",");
      switch (args[i]) {
        case "--pod" -> {
          Pod p = new Pod(f[0], f[1], f[2], f[3], Integer.parseInt(f[4]));
          local.add(p);
          everyPod.put(p.ip(), p.identity());
        }
        case "--peer" -> everyPod.put(f[0], Integer.parseInt(f[1]));
        case "--device" -> devices.add(f[0]);
        case "--services" -> services = args[i + 1];
        case "--socket-lb" -> socketLb = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    AtomicLong events = new AtomicLong();
    try (LinuxDatapath dp = LinuxDatapath.open(pins)) {
      Map<Cidr, Integer> ipcache = new HashMap<>();
      everyPod.forEach((ip, id) -> ipcache.put(Cidr.parse(ip + "/32"), id));
      BigInteger base = new BigInteger(1, new byte[] {10, (byte) 128, 0, 0});
      for (int i = 0; ipcache.size() < ipcacheEntries; i++) {
        ipcache.put(Cidr.host(Cidr.Family.IPV4, base.add(BigInteger.valueOf(i))), 80000 + i);
      }
      dp.putIpcache(ipcache);
      int id = 1;
      for (Pod p : local) {
        endpoint(dp, id++, p, everyPod.values(), ports, policyEntries);
      }
      try (RingBufferReader reader =
          dp.events(
              50,
              b -> {
                DatapathEvent.decode(b);
                events.incrementAndGet();
              })) {
        for (Pod p : local) {
          dp.attach(Tc.ifindex(p.hostIf()));
        }
        for (String d : devices) {
          dp.attachDevice(Tc.ifindex(d));
        }
        if (services != null) {
          services(dp, services);
        }
        if (socketLb != null) {
          dp.attachSocketLb(Path.of(socketLb));
        }
        System.out.printf(
            "ready: %d ipcache entries, %d policy entries per endpoint%n",
            dp.ipcache().size(), dp.readPolicy(1, 0).size());
        System.out.flush();
        while (System.in.read() >= 0) {
          // wait for stdin to close
        }
        reader.drain();
      }
      System.out.printf("events drained: %d%n", events.get());
    }
  }

  /** The services of {@code --services}, programmed as the agent does, timed. */
  static void services(LinuxDatapath dp, String spec) {
    String[] f = spec.split(",");
    int count = Integer.parseInt(f[0]);
    int backends = Integer.parseInt(f[1]);
    List<io.porin.core.service.ServiceRecord> records = new ArrayList<>();
    records.add(
        record(
            "target",
            f[2],
            Integer.parseInt(f[3]),
            List.of(backend("target", f[4])),
            Integer.parseInt(f[5])));
    for (int i = 1; i < count; i++) {
      List<io.porin.core.service.ServiceRecord.Backend> bs = new ArrayList<>();
      for (int b = 0; b < backends; b++) {
        int n = i * backends + b;
        bs.add(
            backend(
                "p" + n, "10." + (129 + n / 62500) + "." + (n / 250 % 250) + "." + (n % 250 + 1)));
      }
      records.add(record("s" + i, "10.97." + (i / 250) + "." + (i % 250 + 1), 80, bs, 8080));
    }
    io.porin.agent.service.ServiceSync sync =
        new io.porin.agent.service.ServiceSync(dp.loadBalancer(), List.of());
    long t0 = System.nanoTime();
    sync.reset(records);
    long programmed = System.nanoTime() - t0;
    t0 = System.nanoTime();
    sync.reset(records);
    long unchanged = System.nanoTime() - t0;
    System.out.printf(
        "services: %d frontends, %d backends programmed in %d ms (the same again, nothing to"
            + " write: %d ms)%n",
        sync.frontends().size(),
        dp.loadBalancer().read().backends().size(),
        programmed / 1_000_000,
        unchanged / 1_000_000);
  }

  private static io.porin.core.service.ServiceRecord.Backend backend(String pod, String ip) {
    return new io.porin.core.service.ServiceRecord.Backend(
        pod, "n", List.of(ip), io.porin.core.service.ServiceRecord.State.ACTIVE, List.of(0));
  }

  private static io.porin.core.service.ServiceRecord record(
      String name,
      String vip,
      int port,
      List<io.porin.core.service.ServiceRecord.Backend> backends,
      int target) {
    List<io.porin.core.service.ServiceRecord.Backend> bs = new ArrayList<>();
    for (var b : backends) {
      bs.add(
          new io.porin.core.service.ServiceRecord.Backend(
              b.pod(), b.node(), b.addresses(), b.state(), List.of(target)));
    }
    return new io.porin.core.service.ServiceRecord(
        "bench",
        name,
        "ClusterIP",
        List.of(vip),
        false,
        List.of(
            new io.porin.core.service.ServiceRecord.Port(
                "p", port, io.porin.core.policy.Protocol.TCP, 0)),
        0,
        "random",
        bs);
  }

  /** One pod: its endpoint entry and a policy map allowing every benchmark pod on the ports. */
  private static void endpoint(
      LinuxDatapath dp,
      int id,
      Pod pod,
      java.util.Collection<Integer> peers,
      List<Integer> ports,
      int entries) {
    Map<PolicyKey, PolicyValue> policy = new HashMap<>();
    for (int peer : peers) {
      for (int port : ports) {
        for (int dir : new int[] {MapLayouts.DIR_INGRESS, MapLayouts.DIR_EGRESS}) {
          policy.put(
              new PolicyKey(peer, dir, 6, port, 24), new PolicyValue(MapLayouts.POLICY_ALLOW, 1));
        }
      }
    }
    Random random = new Random(id);
    while (policy.size() < entries) {
      policy.put(
          new PolicyKey(
              80000 + random.nextInt(100_000), random.nextInt(2), 6, 1 + random.nextInt(65535), 24),
          new PolicyValue(MapLayouts.POLICY_ALLOW, 2));
    }
    dp.resetConnections(id, MapLayouts.CT_PER_ENDPOINT);
    dp.writePolicy(id, 0, new PolicyContent(policy, Map.of(), Map.of()));
    int flags = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    int ifindex = Tc.ifindex(pod.hostIf());
    dp.putEndpoint(
        ifindex,
        new EndpointConfig(
            id,
            pod.identity(),
            1,
            0,
            flags,
            MapLayouts.POLICY_DENY,
            MapLayouts.POLICY_DENY,
            3,
            3,
            pod.podMac(),
            pod.hostMac(),
            pod.ip(),
            null));
    dp.putLocalAddress(Cidr.Family.IPV4, Cidr.parse(pod.ip() + "/32").network(), ifindex);
  }
}
