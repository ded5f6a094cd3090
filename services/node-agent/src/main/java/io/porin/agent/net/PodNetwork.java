package io.porin.agent.net;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Wires pods: a veth pair whose host side ({@code lxc} + hash) stays in the agent's namespace and
 * whose peer becomes the pod's interface, addressed /32 (/128) with a default route via the node's
 * gateway address, which the host side answers for (a permanent neighbour entry in the pod).
 */
public final class PodNetwork {
  private PodNetwork() {}

  /** The host-side name of a pod's interface: lxc + 12 hex characters (15 in all). */
  public static String hostName(String containerId, String ifname) {
    return "lxc" + hash(containerId + "/" + ifname).substring(0, 12);
  }

  private static String tempName(String containerId, String ifname) {
    return "tmp" + hash(containerId + "/" + ifname).substring(0, 12);
  }

  /** The addresses a pod gets. {@code ipv6} and {@code gateway6} may be null. */
  public record Addresses(String ipv4, String gateway4, String ipv6, String gateway6) {}

  /** Enables forwarding in the agent's namespace and gives its loopback the gateway addresses. */
  public static void prepareNode(ProcSys sys, String gateway4, String gateway6) throws Exception {
    sys.write("net/ipv4/ip_forward", "1");
    if (gateway6 != null && sys.exists("net/ipv6/conf/all/forwarding")) {
      sys.write("net/ipv6/conf/all/forwarding", "1");
    }
    Command.ip("link", "set", "lo", "up");
    Command.tryIp("addr", "add", gateway4 + "/32", "dev", "lo");
    if (gateway6 != null) {
      Command.tryIp("-6", "addr", "add", gateway6 + "/128", "dev", "lo", "nodad");
    }
  }

  /**
   * Creates the pair, moves the peer into the pod as {@code ifname}, addresses and routes it, and
   * brings both ends up. Returns the host side's MAC.
   */
  public static String create(
      String containerId, String netns, String ifname, Addresses a, int mtu) {
    String host = hostName(containerId, ifname);
    String temp = tempName(containerId, ifname);
    Command.ip(
        "link",
        "add",
        host,
        "mtu",
        Integer.toString(mtu),
        "type",
        "veth",
        "peer",
        "name",
        temp,
        "mtu",
        Integer.toString(mtu));
    Command.ip("link", "set", temp, "netns", netns);
    Command.ipIn(netns, "link", "set", temp, "name", ifname);
    Command.ipIn(netns, "link", "set", "lo", "up");
    Command.ipIn(netns, "addr", "add", a.ipv4() + "/32", "dev", ifname);
    if (a.ipv6() != null) {
      Command.ipIn(netns, "-6", "addr", "add", a.ipv6() + "/128", "dev", ifname, "nodad");
    }
    Command.ipIn(netns, "link", "set", ifname, "up");
    Command.ip("link", "set", host, "up");
    String hostMac = mac(null, host);
    Command.ipIn(netns, "route", "add", a.gateway4(), "dev", ifname, "scope", "link");
    Command.ipIn(netns, "route", "add", "default", "via", a.gateway4(), "dev", ifname);
    Command.ipIn(
        netns,
        "neigh",
        "replace",
        a.gateway4(),
        "lladdr",
        hostMac,
        "dev",
        ifname,
        "nud",
        "permanent");
    Command.ip("route", "replace", a.ipv4() + "/32", "dev", host, "src", a.gateway4());
    if (a.ipv6() != null) {
      Command.ipIn(netns, "-6", "route", "add", a.gateway6(), "dev", ifname);
      Command.ipIn(netns, "-6", "route", "add", "default", "via", a.gateway6(), "dev", ifname);
      Command.ipIn(
          netns,
          "-6",
          "neigh",
          "replace",
          a.gateway6(),
          "lladdr",
          hostMac,
          "dev",
          ifname,
          "nud",
          "permanent");
      Command.ip("-6", "route", "replace", a.ipv6() + "/128", "dev", host);
    }
    return hostMac;
  }

  /** Removes the pair (deleting the host side removes the pod side and the routes). */
  public static boolean delete(String containerId, String ifname) {
    String host = hostName(containerId, ifname);
    Command.tryIp("link", "del", tempName(containerId, ifname));
    return Command.tryIp("link", "del", host).ok();
  }

  /** True when the host side exists in the agent's namespace. */
  public static boolean hostLinkExists(String containerId, String ifname) {
    return Command.tryIp("link", "show", "dev", hostName(containerId, ifname)).ok();
  }

  /** The problem with the pod side, or empty when the interface carries the address. */
  public static Optional<String> checkPod(String netns, String ifname, String ipv4) {
    if (!Files.exists(Path.of(netns))) {
      return Optional.of("network namespace " + netns + " does not exist");
    }
    Command.Result r = Command.tryIpIn(netns, "-4", "-o", "addr", "show", "dev", ifname);
    if (!r.ok()) {
      return Optional.of("interface " + ifname + " is missing in " + netns + ": " + r.output());
    }
    if (!r.output().contains(" " + ipv4 + "/32")) {
      return Optional.of(ifname + " in " + netns + " does not carry " + ipv4 + "/32");
    }
    Command.Result routes = Command.tryIpIn(netns, "-4", "route", "show", "default");
    if (!routes.ok() || !routes.output().startsWith("default via")) {
      return Optional.of(ifname + " in " + netns + " has no default route");
    }
    return Optional.empty();
  }

  /** The MAC address of an interface (in the agent's namespace when {@code netns} is null). */
  public static String mac(String netns, String ifname) {
    String out =
        netns == null
            ? Command.ip("-o", "link", "show", "dev", ifname)
            : Command.ipIn(netns, "-o", "link", "show", "dev", ifname);
    int i = out.indexOf("link/ether ");
    if (i < 0) {
      throw new NetException(ifname + " has no Ethernet address: " + out);
    }
    return out.substring(i + 11, i + 28);
  }

  private static String hash(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
