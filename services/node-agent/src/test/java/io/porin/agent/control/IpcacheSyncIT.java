package io.porin.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.Bpffs;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.testing.EtcdProcess;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The kernel ipcache follows the cluster: endpoints and nodes published in a real etcd, the CIDR
 * identities of policy, and this node's local endpoints, with their precedence. Maps are pinned
 * under a directory of this test only; node routes are off, so nothing outside the maps changes.
 */
@org.junit.jupiter.api.Tag("privileged")
class IpcacheSyncIT {
  private static final Path PINS =
      Bpffs.ROOT.resolve("porin-test-ipcache-" + ProcessHandle.current().pid());
  private static EtcdProcess etcd;
  private static KvStore kv;
  private static LinuxDatapath dp;

  @BeforeAll
  static void start() throws Exception {
    etcd = EtcdProcess.start("ipcache");
    kv = etcd.connect();
    dp = LinuxDatapath.open(PINS);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (dp != null) {
        dp.close();
      }
      if (kv != null) {
        kv.close();
      }
      if (etcd != null) {
        etcd.close();
      }
    } finally {
      Bpffs.removeTree(PINS);
    }
  }

  private static void await(Predicate<Map<Cidr, Integer>> condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (condition.test(dp.ipcache())) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("ipcache never got there: " + dp.ipcache());
  }

  private static Cidr c(String s) {
    return Cidr.parse(s);
  }

  @Test
  void theKernelIpcacheFollowsEndpointsNodesCidrsAndLocalEndpoints() throws Exception {
    // a stale entry left by a previous run goes away at the first sync
    dp.putIpcache(Map.of(c("10.9.9.9/32"), 4242));
    kv.put(Keys.Ipam.block("ipv4", "10.1.0.0/24"), "me", 0);
    kv.put(Keys.Ipam.block("ipv6", "fd00::/64"), "me", 0);
    kv.put(Keys.Ipam.block("ipv4", "10.1.1.0/24"), "other", 0);
    kv.put(
        Keys.Endpoints.endpoint("me", "10.1.0.5"), "{\"ip\":\"10.1.0.5\",\"identity\":70001}", 0);
    kv.put(Keys.Endpoints.endpoint("me", "fd00::5"), "{\"ip\":\"fd00::5\",\"identity\":70001}", 0);
    kv.put(
        Keys.Nodes.node("me"),
        "{\"name\":\"me\",\"addresses\":[\"192.168.50.1\"],\"ipv4Cidrs\":[\"10.1.0.0/24\"],\"gateway4\":\"10.1.0.1\"}",
        0);
    kv.put(
        Keys.Nodes.node("other"),
        "{\"name\":\"other\",\"addresses\":[\"192.168.50.2\"],\"ipv4Cidrs\":[\"10.1.1.0/24\"],\"gateway4\":\"10.1.1.1\"}",
        0);
    try (IpcacheSync sync = new IpcacheSync(dp, kv, "me", false)) {
      sync.start();
      await(
          m ->
              Integer.valueOf(70001).equals(m.get(c("10.1.0.5/32")))
                  && Integer.valueOf(70001).equals(m.get(c("fd00::5/128")))
                  && Integer.valueOf(1).equals(m.get(c("192.168.50.1/32")))
                  && Integer.valueOf(1).equals(m.get(c("10.1.0.1/32")))
                  && Integer.valueOf(6).equals(m.get(c("192.168.50.2/32")))
                  && Integer.valueOf(6).equals(m.get(c("10.1.1.1/32")))
                  && !m.containsKey(c("10.9.9.9/32")));

      // a new endpoint elsewhere, one that goes away
      kv.put(
          Keys.Endpoints.endpoint("other", "10.1.1.7"),
          "{\"ip\":\"10.1.1.7\",\"identity\":70002}",
          0);
      kv.delete(Keys.Endpoints.endpoint("me", "10.1.0.5"));
      await(
          m ->
              Integer.valueOf(70002).equals(m.get(c("10.1.1.7/32")))
                  && !m.containsKey(c("10.1.0.5/32")));

      // CIDR identities of policy, under the more specific endpoint entries
      sync.setCidrIdentities(Map.of(c("10.1.1.0/24"), 16777217, c("0.0.0.0/0"), 16777218));
      await(m -> Integer.valueOf(16777217).equals(m.get(c("10.1.1.0/24"))));
      assertThat(dp.lookupIpcache(Cidr.Family.IPV4, c("10.1.1.7/32").network())).contains(70002);
      assertThat(dp.lookupIpcache(Cidr.Family.IPV4, c("10.1.1.8/32").network())).contains(16777217);
      assertThat(dp.lookupIpcache(Cidr.Family.IPV4, c("8.8.8.8/32").network())).contains(16777218);

      // a local endpoint wins over what etcd says of the same address; every change tells
      // established connections to check their peers again (the generation)
      int generation = dp.ipcacheGeneration();
      sync.putLocal(c("10.1.1.7/32"), 70003);
      assertThat(dp.ipcache()).containsEntry(c("10.1.1.7/32"), 70003);
      assertThat(dp.ipcacheGeneration()).isEqualTo(generation + 1);
      sync.putLocal(c("10.1.1.7/32"), 70003);
      assertThat(dp.ipcacheGeneration()).as("no change, no bump").isEqualTo(generation + 1);
      sync.removeLocal(c("10.1.1.7/32"));
      assertThat(dp.ipcache()).containsEntry(c("10.1.1.7/32"), 70002);

      // a node publishing an address of another node's pod CIDR is not believed (a node's
      // certificate lets it write under its own name only, whatever it claims there)
      kv.put(
          Keys.Endpoints.endpoint("other", "10.1.0.9"),
          "{\"ip\":\"10.1.0.9\",\"identity\":70009}",
          0);
      kv.put(
          Keys.Endpoints.endpoint("other", "10.1.1.9"),
          "{\"ip\":\"10.1.1.9\",\"identity\":70009}",
          0);
      await(m -> Integer.valueOf(70009).equals(m.get(c("10.1.1.9/32"))));
      assertThat(dp.ipcache()).doesNotContainKey(c("10.1.0.9/32"));
      assertThat(sync.refusedRecords()).isEqualTo(1);

      // a revoked node's endpoints leave the ipcache
      sync.ignoreNodes("other"::equals);
      assertThat(dp.ipcache()).doesNotContainKeys(c("10.1.1.9/32"), c("10.1.1.7/32"));
      sync.ignoreNodes(n -> false);
      assertThat(dp.ipcache()).containsEntry(c("10.1.1.9/32"), 70009);

      // a node record is about the node its key names, and claims no pod's address
      kv.put(Keys.Nodes.node("other"), "{\"name\":\"me\",\"addresses\":[\"192.168.50.9\"]}", 0);
      await(m -> !m.containsKey(c("192.168.50.2/32")));
      assertThat(dp.ipcache()).doesNotContainKey(c("192.168.50.9/32"));
      kv.put(
          Keys.Nodes.node("other"),
          "{\"name\":\"other\",\"addresses\":[\"192.168.50.2\",\"10.1.0.77\"]}",
          0);
      await(m -> Integer.valueOf(6).equals(m.get(c("192.168.50.2/32"))));
      assertThat(dp.ipcache()).doesNotContainKey(c("10.1.0.77/32"));
      // a pod is never given a reserved identity by a node
      kv.put(
          Keys.Endpoints.endpoint("other", "10.1.1.10"),
          "{\"ip\":\"10.1.1.10\",\"identity\":1}",
          0);
      Thread.sleep(300);
      assertThat(dp.ipcache()).doesNotContainKey(c("10.1.1.10/32"));

      // a node that leaves takes its addresses with it
      kv.delete(Keys.Nodes.node("other"));
      await(m -> !m.containsKey(c("192.168.50.2/32")) && m.containsKey(c("192.168.50.1/32")));
    }
  }
}
