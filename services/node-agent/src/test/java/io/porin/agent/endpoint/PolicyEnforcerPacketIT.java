package io.porin.agent.endpoint;

import static io.porin.agent.bpf.Packets.ACK;
import static io.porin.agent.bpf.Packets.SYN;
import static io.porin.agent.bpf.Packets.TCP;
import static io.porin.agent.bpf.Packets.fromPod;
import static io.porin.agent.bpf.Packets.ipv4;
import static io.porin.agent.bpf.Packets.tcp;
import static org.assertj.core.api.Assertions.assertThat;

import io.porin.agent.bpf.Bpffs;
import io.porin.agent.bpf.LinuxDatapath;
import io.porin.agent.bpf.TestRun;
import io.porin.agent.policy.Cookies;
import io.porin.agent.policy.PolicyTranslator;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The agent's policy enforcement on the real datapath (BPF_PROG_TEST_RUN, root): what the agent
 * writes is what packets meet. The endpoint sits at ifindex 1, where test runs happen.
 */
@Tag("privileged")
class PolicyEnforcerPacketIT {
  private static final Path PINS =
      Bpffs.ROOT.resolve("porin-test-enforcer-" + ProcessHandle.current().pid());
  private static LinuxDatapath dp;

  @BeforeAll
  static void load() throws Exception {
    dp = LinuxDatapath.open(PINS);
  }

  @AfterAll
  static void unload() throws Exception {
    try {
      dp.close();
    } finally {
      Bpffs.removeTree(PINS);
    }
  }

  private static int send(byte[] frame) {
    return TestRun.run(dp.programFd(LinuxDatapath.PROGRAM_FROM_POD), fromPod(frame), 1).retval();
  }

  @Test
  void narrowingAnIpBlockCutsConnectionsToWhatItNoLongerHolds() {
    Endpoint e =
        new Endpoint(
            7,
            "c1",
            "eth0",
            "/var/run/netns/x",
            "demo",
            "web",
            "lxc1",
            1,
            "02:00:00:00:00:01",
            "02:00:00:00:00:02",
            "10.0.0.2",
            null,
            2000,
            List.of("k8s:app=web"));
    PolicyEnforcer enforcer =
        new PolicyEnforcer(dp, new PolicyTranslator(new Cookies()), new Revisions(dp));
    LiveEndpoint live = new LiveEndpoint(e);
    dp.resetConnections(e.id(), 1024);
    try {
      enforcer.applyLocked(live, Policies.egressToBlock(2000, "10.0.0.0/8"), 1);
      assertThat(send(ipv4("10.0.0.2", "10.2.0.5", TCP, tcp(40000, 443, SYN)))).isZero();
      assertThat(send(ipv4("10.0.0.2", "10.2.0.5", TCP, tcp(40000, 443, ACK)))).isZero();
      // 10.0.0.0/8 becomes 10.1.0.0/16: the same entries (class 1 on 443), another block
      enforcer.applyLocked(live, Policies.egressToBlock(2000, "10.1.0.0/16"), 2);
      assertThat(send(ipv4("10.0.0.2", "10.2.0.5", TCP, tcp(40000, 443, ACK)))).isEqualTo(2);
      assertThat(send(ipv4("10.0.0.2", "10.1.0.5", TCP, tcp(40001, 443, SYN)))).isZero();
    } finally {
      dp.deleteEndpoint(1);
      dp.forgetEndpoint(e.id());
    }
  }
}
