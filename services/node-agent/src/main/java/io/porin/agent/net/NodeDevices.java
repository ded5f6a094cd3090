package io.porin.agent.net;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The node's own interfaces, found by the addresses they hold ({@code ip -o addr}). */
public final class NodeDevices {
  private NodeDevices() {}

  /** The interfaces holding any of these addresses, in order, each once. */
  public static List<String> holding(List<String> addresses) {
    if (addresses.isEmpty()) {
      return List.of();
    }
    Set<InetAddress> want = new java.util.HashSet<>();
    for (String a : addresses) {
      want.add(InetAddress.ofLiteral(a));
    }
    return holding(want, Command.ip("-o", "addr", "show"));
  }

  /** Parses {@code ip -o addr show}: "2: eth0 inet 172.30.1.2/24 ..." lines. */
  static List<String> holding(Set<InetAddress> want, String ipAddrOutput) {
    Set<String> out = new LinkedHashSet<>();
    for (String line : ipAddrOutput.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 4 || !(f[2].equals("inet") || f[2].equals("inet6"))) {
        continue;
      }
      String address = f[3].substring(0, f[3].indexOf('/') < 0 ? f[3].length() : f[3].indexOf('/'));
      try {
        if (want.contains(InetAddress.ofLiteral(address))) {
          out.add(f[1].replaceAll("@.*$", ""));
        }
      } catch (IllegalArgumentException e) {
        // not an address: skip the line
      }
    }
    return new ArrayList<>(out);
  }
}
