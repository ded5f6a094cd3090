package io.porin.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeDevicesTest {
  @Test
  void theInterfacesHoldingTheNodesAddresses() {
    String ip =
        """
        1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
        1: lo    inet 10.200.1.1/32 scope global lo\\       valid_lft forever preferred_lft forever
        2: eth0    inet 172.30.1.2/24 scope global eth0\\       valid_lft forever preferred_lft forever
        2: eth0    inet6 fd00:ac1e:1::2/64 scope global \\       valid_lft forever preferred_lft forever
        3: lxc1234@if2    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
        4: eth1    inet 192.168.9.9/24 scope global eth1\\       valid_lft forever preferred_lft forever
        """;
    assertThat(
            NodeDevices.holding(
                Set.of(
                    InetAddress.ofLiteral("172.30.1.2"), InetAddress.ofLiteral("fd00:ac1e:1::2")),
                ip))
        .containsExactly("eth0");
    assertThat(NodeDevices.holding(Set.of(InetAddress.ofLiteral("10.9.9.9")), ip)).isEmpty();
  }
}
