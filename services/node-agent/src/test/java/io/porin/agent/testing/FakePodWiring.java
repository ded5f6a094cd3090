package io.porin.agent.testing;

import io.porin.agent.net.NetException;
import io.porin.agent.net.PodWiring;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Pod interfaces in memory: each created pair gets the next ifindex (from 100). */
public final class FakePodWiring implements PodWiring {
  public final Failures failures = new Failures(NetException::new);
  private final Journal journal;
  public final Map<String, Wired> links = new HashMap<>();
  private int nextIfindex = 100;

  public FakePodWiring(Journal journal) {
    this.journal = journal;
  }

  @Override
  public synchronized Wired create(
      String containerId, String netns, String ifname, Addresses addresses, int mtu) {
    failures.check("create");
    int ifindex = nextIfindex++;
    Wired w =
        new Wired(
            "lxc" + ifindex,
            ifindex,
            String.format("02:00:00:00:%02x:01", ifindex & 0xFF),
            String.format("02:00:00:00:%02x:02", ifindex & 0xFF));
    links.put(containerId + "/" + ifname, w);
    journal.add("wire " + containerId + " " + addresses.ipv4());
    return w;
  }

  @Override
  public synchronized void delete(String containerId, String ifname) {
    journal.add("unwire " + containerId);
    links.remove(containerId + "/" + ifname);
  }

  @Override
  public synchronized Optional<Integer> hostIfindex(String containerId, String ifname) {
    return Optional.ofNullable(links.get(containerId + "/" + ifname)).map(Wired::ifindex);
  }

  @Override
  public Optional<String> checkPod(String netns, String ifname, String ipv4) {
    return Optional.empty();
  }
}
