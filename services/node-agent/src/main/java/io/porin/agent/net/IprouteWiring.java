package io.porin.agent.net;

import io.porin.agent.bpf.Tc;
import java.util.Optional;

/** Pod wiring with iproute2 ({@link PodNetwork}); ifindexes from the kernel. */
public final class IprouteWiring implements PodWiring {
  @Override
  public Wired create(String containerId, String netns, String ifname, Addresses a, int mtu) {
    String hostMac =
        PodNetwork.create(
            containerId,
            netns,
            ifname,
            new PodNetwork.Addresses(a.ipv4(), a.gateway4(), a.ipv6(), a.gateway6()),
            mtu);
    String podMac = PodNetwork.mac(netns, ifname);
    String host = PodNetwork.hostName(containerId, ifname);
    return new Wired(host, Tc.ifindex(host), hostMac, podMac);
  }

  @Override
  public void delete(String containerId, String ifname) {
    PodNetwork.delete(containerId, ifname);
  }

  @Override
  public Optional<Integer> hostIfindex(String containerId, String ifname) {
    if (!PodNetwork.hostLinkExists(containerId, ifname)) {
      return Optional.empty();
    }
    return Optional.of(Tc.ifindex(PodNetwork.hostName(containerId, ifname)));
  }

  @Override
  public Optional<String> checkPod(String netns, String ifname, String ipv4) {
    return PodNetwork.checkPod(netns, ifname, ipv4);
  }
}
