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
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Puts Porin's datapath on the two pods of the datapath benchmark, with a realistic load: the
 * ipcache holds {@code ipcache} entries (the two pods plus other pod addresses with their own
 * identities), each pod's policy map {@code policy} entries (the peer allowed on the benchmark
 * ports, the rest other identities on other ports), both directions enforced, and the event ring
 * drained every 50 ms and decoded (flows on). Runs in the node's namespace until stdin closes; the
 * programs stay attached until the script removes them.
 *
 * <pre>
 * DatapathSetup PIN_DIR IPCACHE POLICY \
 *   HOST_IF_A IP_A POD_MAC_A HOST_MAC_A HOST_IF_B IP_B POD_MAC_B HOST_MAC_B PORT...
 * </pre>
 */
public final class DatapathSetup {
  private DatapathSetup() {}

  public static void main(String[] args) throws Exception {
    Path pins = Path.of(args[0]);
    int ipcacheEntries = Integer.parseInt(args[1]);
    int policyEntries = Integer.parseInt(args[2]);
    String ifA = args[3];
    String ipA = args[4];
    String podMacA = args[5];
    String hostMacA = args[6];
    String ifB = args[7];
    String ipB = args[8];
    String podMacB = args[9];
    String hostMacB = args[10];
    int[] ports = new int[args.length - 11];
    for (int i = 11; i < args.length; i++) {
      ports[i - 11] = Integer.parseInt(args[i]);
    }
    int idA = 70001;
    int idB = 70002;
    AtomicLong events = new AtomicLong();
    try (LinuxDatapath dp = LinuxDatapath.open(pins)) {
      Map<Cidr, Integer> ipcache = new HashMap<>();
      ipcache.put(Cidr.parse(ipA + "/32"), idA);
      ipcache.put(Cidr.parse(ipB + "/32"), idB);
      BigInteger base = new BigInteger(1, new byte[] {10, (byte) 128, 0, 0});
      for (int i = 0; ipcache.size() < ipcacheEntries; i++) {
        ipcache.put(Cidr.host(Cidr.Family.IPV4, base.add(BigInteger.valueOf(i))), 80000 + i);
      }
      dp.putIpcache(ipcache);
      endpoint(
          dp,
          1,
          ifA,
          ipA,
          podMacA,
          hostMacA,
          idA,
          idB,
          MapLayouts.DIR_EGRESS,
          ports,
          policyEntries);
      endpoint(
          dp,
          2,
          ifB,
          ipB,
          podMacB,
          hostMacB,
          idB,
          idA,
          MapLayouts.DIR_INGRESS,
          ports,
          policyEntries);
      try (RingBufferReader reader =
          dp.events(
              50,
              b -> {
                DatapathEvent.decode(b);
                events.incrementAndGet();
              })) {
        dp.attach(Tc.ifindex(ifA));
        dp.attach(Tc.ifindex(ifB));
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

  /** One pod: its endpoint entry and a policy map allowing the peer on the benchmark ports. */
  private static void endpoint(
      LinuxDatapath dp,
      int id,
      String hostIf,
      String ip,
      String podMac,
      String hostMac,
      int identity,
      int peer,
      int dir,
      int[] ports,
      int entries) {
    Map<PolicyKey, PolicyValue> policy = new HashMap<>();
    for (int port : ports) {
      policy.put(
          new PolicyKey(peer, dir, 6, port, 24), new PolicyValue(MapLayouts.POLICY_ALLOW, 1));
    }
    Random random = new Random(id);
    while (policy.size() < entries) {
      policy.put(
          new PolicyKey(80000 + random.nextInt(100_000), dir, 6, 1 + random.nextInt(65535), 24),
          new PolicyValue(MapLayouts.POLICY_ALLOW, 2));
    }
    dp.resetConnections(id, MapLayouts.CT_PER_ENDPOINT);
    dp.writePolicy(id, 0, new PolicyContent(policy, Map.of(), Map.of()));
    int flags = MapLayouts.EP_ENFORCE_INGRESS | MapLayouts.EP_ENFORCE_EGRESS;
    int ifindex = Tc.ifindex(hostIf);
    dp.putEndpoint(
        ifindex,
        new EndpointConfig(
            id,
            identity,
            1,
            0,
            flags,
            MapLayouts.POLICY_DENY,
            MapLayouts.POLICY_DENY,
            3,
            3,
            podMac,
            hostMac,
            ip,
            null));
    dp.putLocalAddress(Cidr.Family.IPV4, Cidr.parse(ip + "/32").network(), ifindex);
  }
}
